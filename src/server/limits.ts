// The server's default request limits, in a module of their own so that `dalle serve`'s option defaults and
// buildServer's read one definition without the CLI importing Fastify up front.

/** Most images one request may ask for. */
export const DEFAULT_MAX_IMAGES = 16;

/** Most candidates (images × rerank) one request may draw: 16 images at the shipped model's rerank 8. */
export const DEFAULT_MAX_CANDIDATES = 128;
