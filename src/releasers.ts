/** Something a start step opened, and how to let go of it. */
export type Releaser = () => void | Promise<void>;

/**
 * The parts a start has opened so far, each with its releaser (graphile-worker's `withReleasers`): when a later
 * step fails, `releaseAll` lets go of everything already open, newest first, so a failed start leaves no listener,
 * timer or database handle behind. Each releaser runs once; one that throws does not keep the others from running.
 */
export function createReleasers(onError: (error: unknown) => void = () => {}) {
  const releasers: Releaser[] = [];
  let releasing: Promise<void> | undefined;
  return {
    /** Registers the releaser of a part that has just started. */
    add(releaser: Releaser): void {
      releasers.push(releaser);
    },
    /** Runs every releaser in reverse order of `add`. Idempotent. */
    releaseAll(): Promise<void> {
      return (releasing ??= (async () => {
        for (const release of releasers.splice(0).reverse()) {
          try {
            await release();
          } catch (error) {
            onError(error);
          }
        }
      })());
    },
  };
}

/** A start that failed for a reason the operator can fix: printed without a stack trace. */
export class StartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StartError';
  }
}

/**
 * The error of a listener that could not bind, naming the variable that sets its port, e.g.
 * `PORT=8080: 127.0.0.1:8080 is already in use; set PORT to a free port (0 picks one)`.
 */
export function listenError(error: unknown, variable: string, host: string, port: number): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'EADDRINUSE'
      ? 'is already in use'
      : code === 'EACCES'
        ? 'needs privileges this process lacks'
        : code === 'EADDRNOTAVAIL'
          ? 'is not an address of this machine'
          : `cannot be listened on (${(error as Error).message})`;
  return new StartError(`${variable}=${port}: ${host}:${port} ${why}; set ${variable} to a free port (0 picks one)`, {
    cause: error,
  });
}

export type Releasers = ReturnType<typeof createReleasers>;
