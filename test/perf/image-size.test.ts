import { describe, expect, it } from "vitest";
import { imageSize } from "../../src/cli/perf.js";

describe("--image-size", () => {
  it("takes WxH within JPEG's sides and the decoder's pixel limit", () => {
    expect(imageSize("500x375")).toEqual({ width: 500, height: 375 });
    expect(imageSize("1x65500")).toEqual({ width: 1, height: 65500 });
  });

  it.each(["0x0", "0x10", "-5x5", "65501x1", "100000x100000", "13378x13378"])("refuses %s naming the valid range", (size) => {
    expect(() => imageSize(size)).toThrow(
      `--image-size ${size}: each side must be 1 to 65500 pixels (JPEG's limit) and W x H at most 178956970 pixels (the decoder's limit); e.g. 500x375`,
    );
  });

  it("refuses what is not WxH with the form", () => {
    expect(() => imageSize("large")).toThrow("--image-size large: give WxH, e.g. 500x375");
  });
});
