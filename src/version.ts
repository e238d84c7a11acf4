/** The version reported by `heck version`, the User-Agent and member metadata. Kept in step with package.json. */
export const VERSION = '0.1.0'
