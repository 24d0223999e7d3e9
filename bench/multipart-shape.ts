/** How the bench cuts a multipart upload, for the S3 clients and the paired store-path baseline alike. */
export const MULTIPART_PART = 8 * 1024 * 1024;
export const MULTIPART_IN_FLIGHT = 4;
