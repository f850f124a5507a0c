/**
 * Shortest-edge resize geometry and center crop, as transformers' image processors compute them
 * (CLIPImageProcessor, BitImageProcessor): the decode stage uses them for CLIP and DINOv2.
 */

/**
 * get_resize_output_image_size with default_to_square=False: the short side becomes
 * shortestEdge, the long one int(shortestEdge * long / short) (a float64 division, truncated,
 * as Python does); a square image takes the width as its short side.
 */
export function shortestEdgeSize(width: number, height: number, shortestEdge: number): { width: number; height: number } {
  const long = Math.trunc((shortestEdge * Math.max(width, height)) / Math.min(width, height));
  return width <= height ? { width: shortestEdge, height: long } : { width: long, height: shortestEdge };
}

/**
 * center_crop's offsets: floor((size - crop) / 2) on each axis. Negative where the image is
 * smaller than the crop: transformers pads it with zeros, ceil((crop - size) / 2) before it,
 * which puts the image at the same place.
 */
export function centerCropOffset(width: number, height: number, cropW: number, cropH: number): { left: number; top: number } {
  return { left: Math.floor((width - cropW) / 2), top: Math.floor((height - cropH) / 2) };
}

/** center_crop on RGB (HWC uint8): always cropW x cropH, 0 where the crop reaches past the image. */
export function centerCrop(rgb: Uint8Array, width: number, height: number, cropW: number, cropH: number): Uint8Array {
  const { left, top } = centerCropOffset(width, height, cropW, cropH);
  const out = new Uint8Array(cropW * cropH * 3);
  const x0 = Math.max(0, -left);
  const x1 = Math.min(cropW, width - left);
  for (let y = Math.max(0, -top); y < Math.min(cropH, height - top); y++) {
    const from = ((y + top) * width + x0 + left) * 3;
    out.set(rgb.subarray(from, from + (x1 - x0) * 3), (y * cropW + x0) * 3);
  }
  return out;
}
