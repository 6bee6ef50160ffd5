// The version pos-sync reports (--version, metrics, the heartbeat). package.json's version is the
// one source: `npm version` rewrites this line (package.json's "version" script), the Debian
// package takes its version from package.json and refuses to build when this differs
// (examples/debian/build-deb.sh), and test/version.test.ts fails when they differ. A constant, not
// a read of package.json: the bundle and the compiled modules sit at different depths, and every
// timer tick would pay for the read.
export const VERSION = '0.1.0';
