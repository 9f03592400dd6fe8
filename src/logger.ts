import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';

/**
 * Query parameters known to be harmless in a log line (paging, an expiry); every other one is dropped, since a
 * query string may carry anything a client put there (signatures, tokens, personal data).
 */
const LOGGED_QUERY = new Set(['offset', 'limit', 'expires']);

export function redactUrl(url: string): string {
  const mark = url.indexOf('?');
  if (mark < 0) return url;
  const kept = url
    .slice(mark + 1)
    .split('&')
    .filter((pair) => LOGGED_QUERY.has(pair.split('=')[0] ?? ''));
  return kept.length > 0 ? `${url.slice(0, mark)}?${kept.join('&')}` : url.slice(0, mark);
}

/**
 * JSON logs. Requests are logged as method, path (signatures redacted) and request id only: never headers,
 * so neither an API key nor a webhook secret can reach a log.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      serializers: {
        req: (req: { id?: string; method?: string; url?: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url === undefined ? undefined : redactUrl(req.url),
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: stdSerializers.err,
      },
      redact: { paths: ['secret', '*.secret', 'authorization', '*.authorization', 'webhookSecret'], censor: '[redacted]' },
    },
    destination,
  );
}
