// A mistake by the user (bad file, bad flag, bad value): reported as one clear line naming the problem, never
// a stack trace. Every layer throws it; the CLI and the server turn it into a message.
export class UserError extends Error {
  override name = 'UserError';
}
