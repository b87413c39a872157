/*
 * status_page.h: the agent's status page, one self-contained HTML document
 * embedded in the binary (styles, the script that draws the tables, the
 * blocking trees and the SVG lag charts; nothing fetched from elsewhere).
 * The status JSON is inlined so the page is complete on first load; it then
 * refreshes itself from /api/v1/status.
 */
#ifndef ORGUARD_STATUS_PAGE_H
#define ORGUARD_STATUS_PAGE_H

/*
 * the page with json (status_board_json output, '/' escaped) inlined;
 * malloc'd
 */
char	   *status_page_render(const char *json);

#endif
