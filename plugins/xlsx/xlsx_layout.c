/*
 * What makes the Report sheet of the "xlsx" plugin easy on the eye and printable, once its
 * cells are written (xlsx_report.c):
 *   - conditional formats on each table's ranked rows (never its total): a data bar on
 *     the amount won, a red-yellow-green colour scale on the win rate;
 *   - a native bar chart under the tables: the amount won of the top reps (at most 15,
 *     rank 1 on top), this period beside the comparison period, the names as categories;
 *   - the page: landscape, one page wide (fit to 1 x automatic), the tables' header rows
 *     repeated on every page, modest margins, centred, a footer with the report, tenant
 *     and period and "Page n of m"; the header frozen on screen, no grid lines;
 *   - a page break before the chart when it would not fit under the tables, so it prints
 *     whole (the page estimated for the smaller of A4 and US Letter; fitting to the width
 *     with an automatic height keeps manual row breaks).
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xlsxwriter.h>

#include <dynoreport/plugin.h>

#include "plugin_common.h"
#include "xlsx_internal.h"

#define XP_PAGE_W_PT 792.0     /* landscape width of US Letter, the narrower of Letter and A4 */
#define XP_PAGE_H_PT 595.0     /* landscape height of A4, the lower of the two */
#define XP_MARGIN_SIDE 0.4     /* inches */
#define XP_MARGIN_TOP 0.5
#define XP_MARGIN_BOTTOM 0.6
#define XP_MARGIN_FOOTER 0.3
#define XP_FILL 0.92           /* of a page the estimate counts on (fonts differ) */
#define XP_ROW_PX 20.0         /* a default row (15 points) in pixels */
#define XP_FOOTER_CHARS 255    /* Excel's limit for a footer */

bool xl_layout_row(xl_layout *lay, double points)
{
    if (lay->nrows == lay->heights_cap) {
        size_t cap = lay->heights_cap ? lay->heights_cap * 2 : 128;
        double *grown = realloc(lay->heights, cap * sizeof *grown);
        if (grown == NULL)
            return false;
        lay->heights = grown;
        lay->heights_cap = cap;
    }
    lay->heights[lay->nrows++] = points;
    return true;
}

/* A column's width in pixels, as libxlsxwriter and Excel compute it for the default font. */
static double column_px(double chars)
{
    return chars < 1.0 ? floor(chars * 12.0 + 0.5) : floor(chars * 7.0 + 0.5) + 5.0;
}

static double table_px(const xl_layout *lay)
{
    double px = 0;
    for (lxw_col_t c = 0; c < lay->ncols; c++)
        px += column_px(lay->width[c]);
    return px;
}

/* ---- conditional formats ---------------------------------------------------------------- */

static lxw_error conditional_formats(lxw_worksheet *ws, const xl_table_place *p)
{
    lxw_conditional_format bar, scale;
    lxw_error err;

    if (!p->present || p->last < p->first || p->last == (lxw_row_t)-1)
        return LXW_NO_ERROR;
    memset(&bar, 0, sizeof bar);
    bar.type = LXW_CONDITIONAL_DATA_BAR;
    bar.bar_color = 0x9DC3E6; /* light: the amount stays readable on it */
    bar.bar_solid = LXW_TRUE;
    err = worksheet_conditional_format_range(ws, p->first, XC_AMOUNT, p->last, XC_AMOUNT, &bar);
    if (err != LXW_NO_ERROR)
        return err;
    memset(&scale, 0, sizeof scale);
    scale.type = LXW_CONDITIONAL_3_COLOR_SCALE;
    scale.min_color = 0xF8696B;
    scale.mid_color = 0xFFEB84;
    scale.max_color = 0x63BE7B;
    return worksheet_conditional_format_range(ws, p->first, XC_WIN_RATE, p->last, XC_WIN_RATE,
                                              &scale);
}

/* ---- the chart ---------------------------------------------------------------------------- */

/* A series name of at most 100 characters: libxlsxwriter takes a leading '=' for a formula. */
static const char *chart_text(const char *s, char *buf, size_t size)
{
    s = dr_pc_shown(s);
    while (*s == '=')
        s++;
    return *s ? xl_cut(s, 100, buf, size) : "-";
}

/* The chart of the top reps at lay->chart_row; *height_px 0 when there is none. */
static dr_plugin_status add_chart(xlsx_handle *h, lxw_worksheet *ws, const xl_layout *lay,
                                  double *height_px)
{
    const xl_table_place *p = &lay->reps;
    bool compare = lay->ncols > XC_N_NO_COMPARE;
    char title[64], name_now[404], name_prev[404];
    lxw_chart_font title_font;
    lxw_chart_fill fill_now, fill_prev;
    lxw_chart_options opt;
    lxw_error err;

    *height_px = 0;
    if (!p->present || p->nchart == 0)
        return DR_PLUGIN_OK;
    lxw_row_t first = p->first, last = p->first + (lxw_row_t)p->nchart - 1;
    lxw_chart *chart = workbook_add_chart(h->wb, LXW_CHART_BAR);
    if (chart == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_ENOMEM, "xlsx: out of memory adding the chart");

    memset(&fill_now, 0, sizeof fill_now);
    fill_now.color = 0x1F4E79;
    memset(&fill_prev, 0, sizeof fill_prev);
    fill_prev.color = 0x9DC3E6;
    lxw_chart_series *now = chart_add_series(chart, NULL, NULL);
    if (now == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_ENOMEM, "xlsx: out of memory adding the chart");
    chart_series_set_categories(now, XL_REPORT_SHEET, first, XC_NAME, last, XC_NAME);
    chart_series_set_values(now, XL_REPORT_SHEET, first, XC_AMOUNT, last, XC_AMOUNT);
    chart_series_set_name(now, chart_text(h->period_title, name_now, sizeof name_now));
    chart_series_set_fill(now, &fill_now);
    if (compare) {
        lxw_chart_series *prev = chart_add_series(chart, NULL, NULL);
        if (prev == NULL)
            return dr_plugin_error(h->args, DR_PLUGIN_ENOMEM,
                                   "xlsx: out of memory adding the chart");
        chart_series_set_categories(prev, XL_REPORT_SHEET, first, XC_NAME, last, XC_NAME);
        chart_series_set_values(prev, XL_REPORT_SHEET, first, XC_PREV_AMOUNT, last,
                                XC_PREV_AMOUNT);
        chart_series_set_name(prev, chart_text(h->compare_title, name_prev, sizeof name_prev));
        chart_series_set_fill(prev, &fill_prev);
    }
    snprintf(title, sizeof title, "Amount won, top %zu rep%s", p->nchart,
             p->nchart == 1 ? "" : "s");
    chart_title_set_name(chart, title);
    memset(&title_font, 0, sizeof title_font);
    title_font.size = 12;
    title_font.bold = LXW_EXPLICIT_FALSE;
    chart_title_set_name_font(chart, &title_font);
    chart_legend_set_position(chart, compare ? LXW_CHART_LEGEND_BOTTOM : LXW_CHART_LEGEND_NONE);
    /* a bar chart's categories are on its y axis: rank 1 on top, the values below */
    chart_axis_set_reverse(chart->y_axis);
    chart_axis_set_crossing_max(chart->y_axis);
    chart_axis_set_num_format(chart->x_axis, "#,##0");
    chart_set_series_gap(chart, 50);

    double width = table_px(lay) - 10.0;
    *height_px = 90.0 + (compare ? 24.0 : 18.0) * (double)p->nchart;
    memset(&opt, 0, sizeof opt);
    opt.x_offset = 4;
    opt.y_offset = 4;
    opt.x_scale = (width > 200 ? width : 200) / 480.0;
    opt.y_scale = *height_px / 288.0;
    opt.object_position = LXW_OBJECT_MOVE_DONT_SIZE;
    opt.description = title;
    err = worksheet_insert_chart_opt(ws, lay->chart_row, 0, chart, &opt);
    if (err != LXW_NO_ERROR)
        return xl_lxw_failed(h, err, "insert the chart");
    return DR_PLUGIN_OK;
}

/* ---- the page ------------------------------------------------------------------------------ */

/* @p s for a footer, cut to @p max characters: '&' (Excel's code character) as U+FF06. */
static size_t footer_part(const char *s, char *out, size_t size, size_t max)
{
    size_t o = 0, chars = 0;

    s = dr_pc_shown(s);
    while (*s && chars < max && o + 5 < size) {
        if (*s == '&') {
            memcpy(out + o, "\xEF\xBC\x86", 3);
            o += 3;
            s++;
        } else {
            out[o++] = *s++;
            while (((unsigned char)*s & 0xC0) == 0x80 && o + 1 < size)
                out[o++] = *s++;
        }
        chars++;
    }
    out[o] = '\0';
    return chars;
}

static lxw_error set_footer(xlsx_handle *h, lxw_worksheet *ws)
{
    char tenant[512], period[512], zone[256], title[128], footer[1536];
    lxw_header_footer_options opt;
    /* "&L&8" title " · " tenant " · " period " (" zone ")" "&R&8Page &P of &N" */
    size_t fixed = 4 + 3 + 3 + 2 + 1 + 17, left = XP_FOOTER_CHARS - fixed;
    size_t n;

    n = footer_part(xl_report_title(h->report), title, sizeof title, 40);
    left -= n;
    n = footer_part(h->period_title, period, sizeof period, left > 60 ? 60 : left);
    left -= n;
    n = footer_part(h->time_zone, zone, sizeof zone, left > 40 ? 40 : left);
    left -= n;
    footer_part(h->tenant_name, tenant, sizeof tenant, left);
    snprintf(footer, sizeof footer, "&L&8%s%s%s \xC2\xB7 %s (%s)&R&8Page &P of &N", title,
             *tenant ? " \xC2\xB7 " : "", tenant, period, zone);
    memset(&opt, 0, sizeof opt);
    opt.margin = XP_MARGIN_FOOTER;
    return worksheet_set_footer_opt(ws, footer, &opt);
}

/* A manual row break before the chart when it does not fit under the tables on their last
   page, so it prints whole. The estimate is cautious (the smaller page, a fuller row
   height than LibreOffice's): at worst the chart gets a page of its own. */
static lxw_error page_breaks(lxw_worksheet *ws, const xl_layout *lay, double chart_px)
{
    lxw_row_t breaks[2] = {0, 0};
    double printable_w = XP_PAGE_W_PT - 2 * XP_MARGIN_SIDE * 72.0;
    double printable_h = XP_PAGE_H_PT - (XP_MARGIN_TOP + XP_MARGIN_BOTTOM) * 72.0;
    double scale = printable_w / (table_px(lay) * 0.75);
    double repeat = 0, y = 0, cap;

    if (chart_px <= 0)
        return LXW_NO_ERROR;
    if (scale > 1.0)
        scale = 1.0;
    scale = floor(scale * 100.0) / 100.0; /* spreadsheets scale by whole percents */
    if (scale < 0.1)
        scale = 0.1;
    cap = printable_h * XP_FILL / scale;
    for (lxw_row_t r = lay->title_first; r <= lay->title_last && r < lay->nrows; r++)
        repeat += lay->heights[r];
    for (size_t i = 0; i < lay->nrows; i++) {
        if (y + lay->heights[i] > cap)
            y = repeat; /* an automatic break: the next page starts with the headers */
        y += lay->heights[i];
    }
    if (y + chart_px * 0.75 <= cap)
        return LXW_NO_ERROR;
    breaks[0] = lay->chart_row;
    return worksheet_set_h_pagebreaks(ws, breaks);
}

dr_plugin_status xl_layout_finish(xlsx_handle *h, lxw_worksheet *ws, xl_layout *lay)
{
    dr_plugin_status st;
    lxw_error err = LXW_NO_ERROR;
    double chart_px = 0;

    for (lxw_col_t c = 0; c < lay->ncols && err == LXW_NO_ERROR; c++)
        err = worksheet_set_column(ws, c, c, lay->width[c], NULL);
    if (err == LXW_NO_ERROR)
        err = conditional_formats(ws, &lay->reps);
    if (err == LXW_NO_ERROR)
        err = conditional_formats(ws, &lay->teams);
    if (err != LXW_NO_ERROR)
        return xl_lxw_failed(h, err, "format the Report sheet");
    if ((st = add_chart(h, ws, lay, &chart_px)) != DR_PLUGIN_OK)
        return st;

    /* on screen: the reps' header frozen, no grid lines (the tables have their rules) */
    worksheet_freeze_panes(ws, lay->freeze, 0);
    worksheet_gridlines(ws, LXW_HIDE_ALL_GRIDLINES);
    worksheet_activate(ws);

    /* on paper: landscape, one page wide, the headers on every page */
    lxw_row_t last_row = lay->chart_row + (lxw_row_t)ceil(chart_px / XP_ROW_PX);
    if (last_row > 0 && chart_px == 0)
        last_row--; /* the blank line under the tables */
    worksheet_set_landscape(ws);
    worksheet_fit_to_pages(ws, 1, 0);
    worksheet_set_margins(ws, XP_MARGIN_SIDE, XP_MARGIN_SIDE, XP_MARGIN_TOP, XP_MARGIN_BOTTOM);
    worksheet_center_horizontally(ws);
    err = worksheet_repeat_rows(ws, lay->title_first, lay->title_last);
    if (err == LXW_NO_ERROR)
        err = worksheet_print_area(ws, 0, 0, last_row, lay->ncols - 1);
    if (err == LXW_NO_ERROR)
        err = set_footer(h, ws);
    if (err == LXW_NO_ERROR)
        err = page_breaks(ws, lay, chart_px);
    if (err != LXW_NO_ERROR)
        return xl_lxw_failed(h, err, "set up the printing of the Report sheet");
    return DR_PLUGIN_OK;
}
