// The version pos-sync reports (--version, metrics).
export const VERSION = '0.1.0';
