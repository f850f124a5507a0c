/**
 * Whether the CLI's own output (tables) may use ANSI colour: never when NO_COLOR is set to any
 * non-empty value (https://no-color.org), always when FORCE_COLOR is set (other than "0" or
 * "false"), otherwise only when the stream is a terminal. oclif's own messages (ansis) follow the
 * same variables.
 */
export function useColor(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== "") return force !== "0" && force !== "false";
  return Boolean(stream.isTTY);
}
