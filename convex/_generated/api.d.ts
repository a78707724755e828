/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";
import type * as crons from "../crons.js";
import type * as model from "../model.js";
import type * as repair from "../repair.js";
import type * as rules from "../rules.js";
import type * as santa from "../santa.js";
import type * as sim from "../sim.js";
import type * as validators from "../validators.js";
import type * as workers from "../workers.js";

/**
 * A utility for referencing Convex functions in your app's API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
declare const fullApi: ApiFromModules<{
  crons: typeof crons;
  model: typeof model;
  repair: typeof repair;
  rules: typeof rules;
  santa: typeof santa;
  sim: typeof sim;
  validators: typeof validators;
  workers: typeof workers;
}>;
export declare const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
>;
export declare const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
>;

export declare const components: {
  repairPool: import("@convex-dev/workpool/_generated/component.js").ComponentApi<"repairPool">;
};
