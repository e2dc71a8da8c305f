// The site's log, on stdout/stderr, which journald and Cloudflare's log tail both keep. Two forms
// of one event: a JSON line for machines (production, tests, LOG_FORMAT=json), and a short line a
// developer reads in the terminal (development, LOG_FORMAT=text). Every event of every runtime,
// the request log included (src/node/request-log.ts), is written here.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';
export type LogFields = Record<string, unknown>;
export type Log = Record<LogLevel, (event: string, fields?: LogFields) => void>;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLog(options: { level: LogLevel; format: LogFormat }, now: () => number = Date.now): Log {
  const format = options.format === 'text' ? textLine : jsonLine;
  const write =
    (at: LogLevel) =>
    (event: string, fields: LogFields = {}) => {
      if (ORDER[at] < ORDER[options.level]) return;
      const line = format(now(), at, event, fields);
      if (at === 'error' || at === 'warn') console.error(line);
      else console.log(line);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function jsonLine(time: number, level: LogLevel, event: string, fields: LogFields): string {
  const head = { time: new Date(time).toISOString(), level, event };
  // The head comes first and no field may replace it: a field named `event` once hid the name
  // of the line it was on (webhook.failed). Name such fields otherwise (`eventId`).
  return JSON.stringify({ ...head, ...fields, ...head });
}

/**
 * `12:00:01 INFO  GET /courses/ 200 3.1 ms id=… address=…` for a request (the form of Astro's own
 * development log), `12:00:01 WARN  config.payments-off hint="…"` for any other event.
 */
function textLine(time: number, level: LogLevel, event: string, fields: LogFields): string {
  const { method, path, status, ms, ...rest } = fields;
  const isRequest = event === 'request' && method !== undefined;
  const head = isRequest ? `${method} ${path} ${status} ${ms} ms` : event;
  const tail = Object.entries(isRequest ? rest : fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}=${typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)}`)
    .join('');
  return `${new Date(time).toISOString().slice(11, 19)} ${level.toUpperCase().padEnd(5)} ${head}${tail}`;
}
