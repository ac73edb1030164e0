/** Command-line values of the benches. */

/** `text` (the value given for `--name`) as an integer from `min` to `max`; throws, naming the flag, otherwise. */
export function integerFlag(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} expects an integer from ${min} to ${max}, got '${text}'`);
  return value;
}
