/** Exit codes (the foundation issue's table): 0 nothing to do / ok, 1 changes pending / check failed, 2 usage or config, 3 runtime. */
export const EXIT_OK = 0;
export const EXIT_CHANGES = 1;
export const EXIT_USAGE = 2;
export const EXIT_RUNTIME = 3;
