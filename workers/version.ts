/**
 * @module Ferry's version, as sent in `user-agent: Ferry/<version>`.
 */
import pkg from "../package.json";

export const VERSION: string = pkg.version;
export const USER_AGENT = `Ferry/${VERSION}`;
