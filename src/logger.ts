import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';

/** Query parameters that must never reach a log line. */
const SECRET_QUERY = /([?&]signature=)[^&]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
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
