import { describe, expect, it } from "vitest";
import { buildConfig, ConfigError } from "./config-file.js";

const cp = (extra: Record<string, unknown>) => ({ controlPlane: { url: "127.0.0.1:8071", ...extra } });

describe("controlPlane.labels and statsIntervalMs (canary selection, StatsReport)", () => {
  it("takes labels and the report interval, with defaults", () => {
    expect(buildConfig(cp({ labels: { zone: "eu", "k8s.io/rack": "r-1" }, statsIntervalMs: 300 }), "/tmp").controlPlane).toMatchObject({ labels: { zone: "eu", "k8s.io/rack": "r-1" }, statsIntervalMs: 300 });
    expect(buildConfig(cp({}), "/tmp").controlPlane).toMatchObject({ labels: {}, statsIntervalMs: 5000 });
  });

  it("refuses bad labels and intervals with a one-line error naming the key", () => {
    const err = (extra: Record<string, unknown>) => {
      try {
        buildConfig(cp(extra), "/tmp");
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      return "accepted";
    };
    expect(err({ labels: { "bad name": "x" } })).toBe("'controlPlane.labels': bad label name 'bad name' (1-63 of [A-Za-z0-9_./-])");
    expect(err({ labels: { zone: "a=b" } })).toBe("'controlPlane.labels.zone' must be a string of at most 128 characters without spaces, ',' or '='");
    expect(err({ labels: { zone: 1 } })).toMatch(/^'controlPlane\.labels\.zone' must be a string/);
    expect(err({ labels: [] })).toBe("'controlPlane.labels' must be an object");
    expect(err({ statsIntervalMs: 5 })).toBe("'controlPlane.statsIntervalMs' must be a number >= 100");
  });
});
