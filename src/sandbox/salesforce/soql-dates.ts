/**
 * Relative date literals (TODAY, LAST_N_DAYS:n…) as half-open UTC ranges [start, end). Salesforce evaluates them
 * in the user's time zone; the sandbox's integration user lives in UTC.
 */
const DAY = 86_400_000;

function utcDay(date: Date, offsetDays = 0): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()) + offsetDays * DAY);
}

function month(date: Date, offsetMonths: number): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offsetMonths, 1));
}

function year(date: Date, offsetYears: number): Date {
  return new Date(Date.UTC(date.getUTCFullYear() + offsetYears, 0, 1));
}

export function relativeRange(name: string, n: number, now: Date): [Date, Date] {
  const week = utcDay(now, -now.getUTCDay());
  const weekAt = (k: number) => new Date(week.getTime() + k * 7 * DAY);
  switch (name) {
    case 'YESTERDAY':
      return [utcDay(now, -1), utcDay(now)];
    case 'TODAY':
      return [utcDay(now), utcDay(now, 1)];
    case 'TOMORROW':
      return [utcDay(now, 1), utcDay(now, 2)];
    case 'LAST_WEEK':
      return [weekAt(-1), weekAt(0)];
    case 'THIS_WEEK':
      return [weekAt(0), weekAt(1)];
    case 'NEXT_WEEK':
      return [weekAt(1), weekAt(2)];
    case 'LAST_MONTH':
      return [month(now, -1), month(now, 0)];
    case 'THIS_MONTH':
      return [month(now, 0), month(now, 1)];
    case 'NEXT_MONTH':
      return [month(now, 1), month(now, 2)];
    case 'LAST_90_DAYS':
      return [utcDay(now, -90), utcDay(now, 1)];
    case 'NEXT_90_DAYS':
      return [utcDay(now, 1), utcDay(now, 91)];
    case 'THIS_YEAR':
      return [year(now, 0), year(now, 1)];
    case 'LAST_YEAR':
      return [year(now, -1), year(now, 0)];
    case 'NEXT_YEAR':
      return [year(now, 1), year(now, 2)];
    case 'LAST_N_DAYS':
      return [utcDay(now, -n), utcDay(now, 1)];
    case 'NEXT_N_DAYS':
      return [utcDay(now, 1), utcDay(now, n + 1)];
    case 'N_DAYS_AGO':
      return [utcDay(now, -n), utcDay(now, -n + 1)];
    case 'LAST_N_WEEKS':
      return [weekAt(-n), weekAt(0)];
    case 'NEXT_N_WEEKS':
      return [weekAt(1), weekAt(n + 1)];
    case 'LAST_N_MONTHS':
      return [month(now, -n), month(now, 0)];
    case 'NEXT_N_MONTHS':
      return [month(now, 1), month(now, n + 1)];
    default:
      return [utcDay(now), utcDay(now, 1)];
  }
}
