/**
 * CLI exit conventions (SPEC.md "Commands"): 0 success, 1 runtime failure,
 * 2 usage or config error; one line on stderr saying what is wrong and how to fix it.
 */
export class UsageError extends Error {
  override name = 'UsageError'
}

export const EXIT_OK = 0
export const EXIT_RUNTIME = 1
export const EXIT_USAGE = 2
