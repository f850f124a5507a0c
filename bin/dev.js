#!/usr/bin/env -S node --import tsx
// Runs the TypeScript sources directly (no build step), for development and tests.
import { execute } from "@oclif/core";

process.env.NODE_ENV ??= "development"; // makes oclif load commands/ instead of dist/commands/
await execute({ development: true, dir: import.meta.url });
