// One JSON line per event, on stdout/stderr, which journald and Cloudflare's log tail both keep.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;
export type Log = Record<LogLevel, (event: string, fields?: LogFields) => void>;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLog(level: LogLevel, now: () => number = Date.now): Log {
  const write = (at: LogLevel) => (event: string, fields: LogFields = {}) => {
    if (ORDER[at] < ORDER[level]) return;
    const head = { time: new Date(now()).toISOString(), level: at, event };
    // The head comes first and no field may replace it: a field named `event` once hid the name
    // of the line it was on (webhook.failed). Name such fields otherwise (`eventId`).
    const line = JSON.stringify({ ...head, ...fields, ...head });
    if (at === 'error' || at === 'warn') console.error(line);
    else console.log(line);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
