import type { z } from 'zod';
// A mistake by the user (bad file, bad flag, bad value): reported as one clear line naming the problem, never
// a stack trace. Every layer throws it; the CLI and the server turn it into a message.
export class UserError extends Error {
  override name = 'UserError';
}

/** zod issues as one line each: `field: message`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Validate what a user gave (options, a config): a UserError naming `what` and each bad field, not a ZodError. */
export function parseUserInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new UserError(`${what}: ${formatIssues(parsed.error)}`);
  return parsed.data;
}
