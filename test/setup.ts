// Preloaded before every test file (bunfig.toml): decode CBOR with the same pure-JS
// path as the compiled binary (see src/cli/main.ts).
process.env.CBOR_NATIVE_ACCELERATION_DISABLED ??= 'true'
