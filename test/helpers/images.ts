/** Tiny images as base64, for the image paths through translated routes (a real 1x1 PNG and GIF; format heads). */

/** A 1x1 PNG. */
export const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
/** A 1x1 GIF. */
export const GIF = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";
/** The first bytes of a JPEG (SOI, APP0) and of a WebP file (RIFF … WEBP): enough for sniffing. */
export const JPEG_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]).toString("base64");
export const WEBP_HEAD = Buffer.from("RIFF\x1a\x00\x00\x00WEBPVP8L", "latin1").toString("base64");
/** The first bytes of a PDF. */
export const PDF = Buffer.from("%PDF-1.4\n%tiny\n", "latin1").toString("base64");

export const pngDataUrl = `data:image/png;base64,${PNG}`;

/** The same media as the core's content parts: what every translator in should make of them. */
export const PNG_PART = { type: "image", source: { kind: "base64", mediaType: "image/png", data: PNG } } as const;
export const URL_IMAGE_PART = { type: "image", source: { kind: "url", url: "https://x/a.jpg" } } as const;
export const PDF_PART = { type: "document", source: { kind: "base64", mediaType: "application/pdf", data: PDF }, name: "a.pdf" } as const;
