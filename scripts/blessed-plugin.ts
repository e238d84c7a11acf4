/**
 * A Bun.build plugin that makes blessed 0.1.81 work inside `bun build --compile`
 * (issue 7, "Known facts about blessed in a compiled binary"):
 *
 * 1. lib/widget.js loads widgets with a computed `require('./widgets/' + file)`,
 *    which the bundler cannot follow; it is rewritten into a static table.
 * 2. The Terminal widget's optional `term.js` and `pty.js` are replaced by stubs
 *    that throw when used (heck never uses that widget), so the build needs neither.
 * 3. lib/tput.js reads its fallback terminfo through `__dirname`, which the
 *    bundler freezes to the build machine's path; blessed's own usr/ terminfo
 *    files are embedded (base64) and read from a virtual path instead.
 * 4. blessed parses only the legacy terminfo format, and ncurses 6 ships the
 *    *256color entries in the newer one; for those terminals blessed's own
 *    xterm-256color entry is preferred, which gives 256 colours everywhere.
 *
 * Usage: Bun.build({ ..., plugins: [blessedPlugin] }). Nothing else is needed.
 */
import type { BunPlugin } from 'bun'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** Virtual directory the embedded terminfo is read from at run time. */
export const EMBEDDED_PREFIX = '/$heck-blessed/usr/'
/** blessed's usr/ files embedded into the binary. */
export const EMBEDDED_FILES = ['xterm', 'xterm-256color', 'linux', 'windows-ansi', 'xterm.termcap']

const STUB_NAMESPACE = 'heck-blessed-stub'

function replaceExactly(src: string, from: string, to: string, expected: number, file: string): string {
  const count = src.split(from).length - 1
  if (count !== expected) throw new Error(`blessed-plugin: expected ${expected} × ${JSON.stringify(from)} in ${file}, found ${count}; blessed changed?`)
  return src.split(from).join(to)
}

/** lib/widget.js with its computed require turned into a static table. */
export function rewriteWidget(src: string, widgetsDir: string): string {
  const m = /widget\.classes\s*=\s*\[([\s\S]*?)\];/.exec(src)
  if (!m) throw new Error('blessed-plugin: widget.classes list not found in lib/widget.js')
  const names = [...(m[1] as string).matchAll(/'([A-Za-z]+)'/g)].map((x) => (x[1] as string).toLowerCase())
  for (const n of names) readFileSync(join(widgetsDir, `${n}.js`)) // throws if a widget file is missing
  const table = `{\n${names.map((n) => `  ${JSON.stringify(n)}: require(${JSON.stringify(`./widgets/${n}`)})`).join(',\n')}\n}`
  return replaceExactly(src, "require('./widgets/' + file)", `__heckWidgets[file]`, 1, 'lib/widget.js').replace(
    'var widget = exports;',
    `var widget = exports;\nvar __heckWidgets = ${table};`,
  )
}

/** lib/tput.js reading blessed's usr/ files from the bundle, and preferring xterm-256color for *256color* terminals. */
export function rewriteTput(src: string, usrDir: string): string {
  const files: Record<string, string> = {}
  for (const f of EMBEDDED_FILES) files[f] = readFileSync(join(usrDir, f)).toString('base64')
  const prelude = `
var __heckTerm = ${JSON.stringify(files)};
function __heckEmbedded(file) {
  file = String(file);
  if (file.indexOf(${JSON.stringify(EMBEDDED_PREFIX)}) !== 0) return null;
  var data = __heckTerm[file.slice(${EMBEDDED_PREFIX.length})];
  return data ? Buffer.from(data, 'base64') : null;
}
`
  let out = src.replace("var assert = require('assert')", `${prelude}\nvar assert = require('assert')`)
  if (out === src) throw new Error("blessed-plugin: lib/tput.js has no \"var assert = require('assert')\"; blessed changed?")
  out = replaceExactly(out, "__dirname + '/../usr/", `'${EMBEDDED_PREFIX}`, 4, 'lib/tput.js')
  out = replaceExactly(out, '  data = fs.readFileSync(file);\n  info = this.parseTerminfo(data, file);', '  data = __heckEmbedded(file) || fs.readFileSync(file);\n  info = this.parseTerminfo(data, file);', 1, 'lib/tput.js')
  out = replaceExactly(out, "    return fs.readFileSync(file, 'utf8');\n  } catch (e) {\n    return '';", "    var __e = __heckEmbedded(file);\n    return __e ? __e.toString('utf8') : fs.readFileSync(file, 'utf8');\n  } catch (e) {\n    return '';", 1, 'lib/tput.js')
  out = replaceExactly(
    out,
    '  this.terminal = this.terminal.toLowerCase();\n',
    `  this.terminal = this.terminal.toLowerCase();\n  if (!options.terminfoFile && !options.termcap && /256colou?r/.test(this.terminal)) options = Object.assign({}, options, { terminfoFile: ${JSON.stringify(`${EMBEDDED_PREFIX}xterm-256color`)} });\n`,
    1,
    'lib/tput.js',
  )
  return out
}

export const blessedPlugin: BunPlugin = {
  name: 'heck-blessed',
  setup(build) {
    build.onLoad({ filter: /[\\/]blessed[\\/]lib[\\/]widget\.js$/ }, (args) => ({
      contents: rewriteWidget(readFileSync(args.path, 'utf8'), join(dirname(args.path), 'widgets')),
      loader: 'js',
    }))
    build.onLoad({ filter: /[\\/]blessed[\\/]lib[\\/]tput\.js$/ }, (args) => ({
      contents: rewriteTput(readFileSync(args.path, 'utf8'), join(dirname(args.path), '..', 'usr')),
      loader: 'js',
    }))
    build.onResolve({ filter: /^(term\.js|pty\.js)$/ }, (args) => ({ path: args.path, namespace: STUB_NAMESPACE }))
    build.onLoad({ filter: /.*/, namespace: STUB_NAMESPACE }, (args) => ({
      contents: `module.exports = function () { throw new Error(${JSON.stringify(`${args.path} is not bundled into heck (blessed's Terminal widget is unsupported)`)}) };\nmodule.exports.fork = module.exports;\n`,
      loader: 'js',
    }))
  },
}
