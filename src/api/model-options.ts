/** What every API function that opens a model takes, and its translation to the registry's options (shared with the CLI's model flags). */
export { registryOptions, type ModelOptions } from "../models/options.js";
