export * from "./errors.js";
export * from "./native.js";
export * from "./traces.js";
export * from "./pull.js";
export * from "./chat.js";
export * from "./show.js";
