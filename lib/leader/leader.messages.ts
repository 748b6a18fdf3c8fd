export const LEADER_MESSAGES = {
  campaignFailed: (name: string, detail: string, retryMs: number) =>
    `Campaign for leadership "${name}" failed (${detail}); trying again in ${retryMs} ms.`,
  campaignEnded: (name: string, detail: string) =>
    `Campaign for leadership "${name}" ended by an unexpected error (${detail}); call start() again.`,
  lost: (name: string) => `Leadership "${name}" was lost; campaigning again.`,
  listenerFailed: (name: string, detail: string) =>
    `A listener of leadership "${name}" threw (${detail}); the election goes on.`,
  resigned: (name: string) => `Leadership "${name}" was resigned.`,
  closed: (name: string) =>
    `Leadership "${name}": the LeaderElectionService is closed (the application shut down).`,
  notSingleton: (provider: string) =>
    `@LeaderOnly on ${provider}: it is not a singleton; its instances use the leadership of ` +
    'the only running application.',
  optionsDiffer: (name: string) =>
    `LeaderElectionService.election: leadership "${name}" already exists with other options; ` +
    'give its options once, where it is first created.',
  notRegistered: (where: string) =>
    `@LeaderOnly on ${where}: no LeaderElectionService is running. Import ` +
    'DistributedLockModule.forRoot(...) in the module that provides this class, and init the ' +
    'application (app.init(), NestFactory.create or createApplicationContext).',
  ambiguousService: (where: string) =>
    `@LeaderOnly on ${where}: several applications with DistributedLockModule are running and ` +
    'this instance was not created by Nest, so which one it belongs to is unknown. Let Nest ' +
    'create it (as a provider).',
};
