/** Counts the AWS requests a client sends, by operation, through a middleware on the real SDK client. */
export interface CountingClient {
  middlewareStack: {
    add: (
      mw: (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => Promise<unknown>,
      options: { step: 'build'; name: string },
    ) => void;
  };
}

export class RequestCounter {
  readonly counts = new Map<string, number>();
  /** Items carried by batch writes (each is one DynamoDB item write, i.e. write capacity). */
  batchWriteItems = 0;

  attach<T>(client: T): T {
    (client as unknown as CountingClient).middlewareStack.add(
      (next, context) => async (args) => {
        const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
        this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
        const requestItems = (args as { input?: { RequestItems?: Record<string, unknown[]> } }).input?.RequestItems;
        if (name.startsWith('BatchWrite') && requestItems) {
          for (const list of Object.values(requestItems)) this.batchWriteItems += list.length;
        }
        return next(args);
      },
      { step: 'build', name: `countRequests${Math.random()}` },
    );
    return client;
  }

  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  reset(): void {
    this.counts.clear();
    this.batchWriteItems = 0;
  }
}
