/**
 * Signal wiring for the daemon, installed before anything binds so no signal meets its default action:
 *   SIGHUP           reload the config (runs one at a time; a SIGHUP during a reload runs one more after it)
 *   SIGTERM, SIGINT  drain, once; a second one closes everything at once
 *   SIGUSR1          reopen the access log (logrotate renamed it)
 */

export interface SignalActions {
  reload(): Promise<void>;
  drain(signal: NodeJS.Signals): Promise<void>;
  /** Cuts a drain short: what is still open is closed now. */
  force(): void;
  reopenLog(): void;
}

/** Installs the handlers; returns the function that removes them. */
export function installSignalHandlers(actions: SignalActions): () => void {
  let reloading: Promise<void> | null = null;
  let again = false;
  const reload = (): void => {
    if (reloading !== null) {
      again = true;
      return;
    }
    reloading = actions.reload().finally(() => {
      reloading = null;
      if (again) {
        again = false;
        reload();
      }
    });
  };
  let draining = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (draining) {
      actions.force();
      return;
    }
    draining = true;
    void actions.drain(signal);
  };
  const onTerm = (): void => stop('SIGTERM');
  const onInt = (): void => stop('SIGINT');
  const onUsr1 = (): void => actions.reopenLog();
  process.on('SIGHUP', reload);
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGUSR1', onUsr1);
  return () => {
    process.off('SIGHUP', reload);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGUSR1', onUsr1);
  };
}
