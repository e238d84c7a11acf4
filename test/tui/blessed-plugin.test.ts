import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { EMBEDDED_FILES, EMBEDDED_PREFIX, rewriteTput, rewriteWidget } from '../../scripts/blessed-plugin.ts'

const blessedDir = join(new URL('../..', import.meta.url).pathname, 'node_modules/blessed')

describe('blessed plugin transforms', () => {
  test('widget.js: the computed require becomes a static table of every widget', () => {
    const out = rewriteWidget(readFileSync(join(blessedDir, 'lib/widget.js'), 'utf8'), join(blessedDir, 'lib/widgets'))
    expect(out).not.toContain("require('./widgets/' + file)")
    const requires = [...out.matchAll(/require\("\.\/widgets\/([a-z]+)"\)/g)].map((m) => m[1])
    expect(requires).toContain('node')
    expect(requires).toContain('screen')
    expect(requires).toContain('box')
    expect(requires.length).toBe(34)
  })
  test('tput.js: terminfo comes from the bundle, *256color* prefers blessed\'s own xterm-256color', () => {
    const out = rewriteTput(readFileSync(join(blessedDir, 'lib/tput.js'), 'utf8'), join(blessedDir, 'usr'))
    expect(out).not.toContain("__dirname + '/../usr/")
    expect(out).toContain(`'${EMBEDDED_PREFIX}xterm'`)
    expect(out).toContain('__heckEmbedded(file) || fs.readFileSync(file)')
    expect(out).toMatch(/256colou\?r.*xterm-256color/)
    const xterm256 = readFileSync(join(blessedDir, 'usr/xterm-256color')).toString('base64')
    expect(out).toContain(xterm256)
    expect(EMBEDDED_FILES).toContain('xterm')
  })
  test('a changed blessed fails the build loudly instead of shipping a broken binary', () => {
    expect(() => rewriteWidget('var widget = exports;', '/nonexistent')).toThrow(/widget.classes/)
    expect(() => rewriteTput("var assert = require('assert')\n", join(blessedDir, 'usr'))).toThrow(/blessed changed/)
  })
})
