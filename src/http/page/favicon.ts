/**
 * The dashboard's icon: a broker hub with three links, served at `/favicon.svg` and drawn in the header.
 * @module
 */

/** SVG source of the icon. */
export const FAVICON_SVG: string = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
  '<rect width="32" height="32" rx="8" fill="#4f46e5"/>' +
  '<g stroke="#fff" stroke-width="2.2" stroke-linecap="round" fill="none">' +
  '<path d="M16 16 8 9M16 16l8-7M16 16v9"/></g>' +
  '<g fill="#fff"><circle cx="16" cy="16" r="4"/><circle cx="8" cy="9" r="2.6"/>' +
  '<circle cx="24" cy="9" r="2.6"/><circle cx="16" cy="25" r="2.6"/></g></svg>';
