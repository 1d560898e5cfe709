/**
 * Bearer-token authentication. Tokens are compared in constant time (over SHA-256 digests, so the
 * length does not leak either) and never logged. The dashboard logs in once: `POST /api/v1/login`
 * sets an HttpOnly, SameSite=Strict cookie that `fetch` and `EventSource` (which cannot send
 * headers) carry. The cookie is honoured only for GET, so a forged cross-site POST cannot use it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './params.js';

export const COOKIE = 'fl_token';
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class TokenSet {
  private readonly digests: Buffer[];
  constructor(tokens: string[]) {
    this.digests = tokens.map(digest);
  }

  /** Checks every token, without an early exit, so timing does not tell which one matched. */
  accepts(candidate: string | undefined): boolean {
    if (!candidate) return false;
    const d = digest(candidate);
    let ok = false;
    for (const t of this.digests) ok = timingSafeEqual(t, d) || ok;
    return ok;
  }
}

function cookieToken(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m?.[1];
}

/** Everything under `/api/` needs a token except logging in and out. */
export function registerAuth(app: FastifyInstance, tokens: TokenSet, counters: { unauthorized: number }): void {
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const path = req.url.split('?', 1)[0]!;
    if (!path.startsWith('/api/') || path === '/api/v1/login' || path === '/api/v1/logout') return;
    const fromCookie = req.method === 'GET' || req.method === 'HEAD' ? cookieToken(req) : undefined;
    const token = bearer(req) ?? fromCookie;
    if (tokens.accepts(token)) return;
    counters.unauthorized++;
    throw new ApiError(401, token ? 'invalid token' : 'missing token: send "Authorization: Bearer <token>" or log in');
  });

  const cookie = (req: FastifyRequest, value: string, maxAge: number): string =>
    `${COOKIE}=${encodeURIComponent(value)}; Path=/api/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}` +
    (req.protocol === 'https' ? '; Secure' : '');

  app.post(
    '/api/v1/login',
    {
      schema: {
        summary: 'Exchange a token for a dashboard session cookie',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['token'],
          properties: { token: { type: 'string', minLength: 1, maxLength: 4096 } },
        },
        response: { 204: { type: 'null' } },
      },
    },
    async (req: FastifyRequest<{ Body: { token: string } }>, reply: FastifyReply) => {
      if (!tokens.accepts(req.body.token)) {
        counters.unauthorized++;
        throw new ApiError(401, 'invalid token');
      }
      reply.header('set-cookie', cookie(req, req.body.token, 30 * 86_400)).code(204);
    },
  );

  app.post('/api/v1/logout', { schema: { summary: 'Clear the dashboard session cookie', response: { 204: { type: 'null' } } } }, async (req, reply) => {
    reply.header('set-cookie', cookie(req, '', 0)).code(204);
  });
}
