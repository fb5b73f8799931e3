// What the process runs from. scripts/package.js defines STCONF_SINGLE_EXECUTABLE when it bundles the
// single executable; everywhere else (npm bundle, tests under tsx) it is not defined.
declare const STCONF_SINGLE_EXECUTABLE: boolean | undefined

/**
 * Inside the single executable, argv[1] is not a script and Node's options are baked into the
 * executable: starting "this program again" is the executable with the user's arguments alone.
 */
export const singleExecutable: boolean = typeof STCONF_SINGLE_EXECUTABLE !== 'undefined' && STCONF_SINGLE_EXECUTABLE

/** Program arguments that start this same CLI again, before the command's own arguments. */
export function selfArgs(argv: string[]): string[] {
  return singleExecutable ? [] : [...process.execArgv, argv[1]]
}
