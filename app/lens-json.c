/* lens-json.c — streaming JSON writer (see lens-json.h). */
#include "config.h"

#include "lens-json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define LENS_JSON_MAX_DEPTH 64

struct _LensJson {
    GString *out;
    gboolean pretty;
    int depth;
    /* per level: has a value been written yet (for commas) */
    gboolean has_item[LENS_JSON_MAX_DEPTH];
    gboolean after_key;
};

LensJson *lens_json_new(gboolean pretty)
{
    LensJson *self = g_new0(LensJson, 1);
    self->out = g_string_new(NULL);
    self->pretty = pretty;
    return self;
}

void lens_json_free(LensJson *self)
{
    if (self == NULL)
        return;
    g_string_free(self->out, TRUE);
    g_free(self);
}

char *lens_json_free_to_string(LensJson *self)
{
    char *s = g_string_free(self->out, FALSE);
    g_free(self);
    return s;
}

const char *lens_json_peek(LensJson *self)
{
    return self->out->str;
}

static void newline(LensJson *self)
{
    if (!self->pretty)
        return;
    g_string_append_c(self->out, '\n');
    for (int i = 0; i < self->depth; i++)
        g_string_append(self->out, "  ");
}

/* Called before every value or key: writes the separator. */
static void before_item(LensJson *self)
{
    if (self->after_key) {
        self->after_key = FALSE;
        return;
    }
    if (self->depth > 0) {
        if (self->has_item[self->depth])
            g_string_append_c(self->out, ',');
        self->has_item[self->depth] = TRUE;
        newline(self);
    }
}

static void open_container(LensJson *self, char c)
{
    before_item(self);
    g_string_append_c(self->out, c);
    g_return_if_fail(self->depth + 1 < LENS_JSON_MAX_DEPTH);
    self->depth++;
    self->has_item[self->depth] = FALSE;
}

static void close_container(LensJson *self, char c)
{
    g_return_if_fail(self->depth > 0);
    gboolean had = self->has_item[self->depth];
    self->depth--;
    if (had)
        newline(self);
    g_string_append_c(self->out, c);
}

void lens_json_begin_object(LensJson *self)
{
    open_container(self, '{');
}

void lens_json_end_object(LensJson *self)
{
    close_container(self, '}');
}

void lens_json_begin_array(LensJson *self)
{
    open_container(self, '[');
}

void lens_json_end_array(LensJson *self)
{
    close_container(self, ']');
}

static void append_escaped(GString *out, const char *s, gssize len)
{
    if (len < 0)
        len = (gssize)strlen(s);
    g_string_append_c(out, '"');
    for (gssize i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        case '\b': g_string_append(out, "\\b"); break;
        case '\f': g_string_append(out, "\\f"); break;
        default:
            if (c < 0x20 || c == 0x7f)
                g_string_append_printf(out, "\\u%04x", c);
            else
                g_string_append_c(out, (char)c);
        }
    }
    g_string_append_c(out, '"');
}

void lens_json_key(LensJson *self, const char *key)
{
    before_item(self);
    append_escaped(self->out, key, -1);
    g_string_append(self->out, self->pretty ? ": " : ":");
    self->after_key = TRUE;
}

void lens_json_string(LensJson *self, const char *value)
{
    if (value == NULL) {
        lens_json_null(self);
        return;
    }
    lens_json_string_len(self, value, -1);
}

void lens_json_string_len(LensJson *self, const char *value, gssize len)
{
    before_item(self);
    append_escaped(self->out, value, len);
}

void lens_json_int(LensJson *self, gint64 value)
{
    before_item(self);
    g_string_append_printf(self->out, "%" G_GINT64_FORMAT, value);
}

void lens_json_double(LensJson *self, double value)
{
    before_item(self);
    if (!isfinite(value)) {
        g_string_append(self->out, "null");
        return;
    }
    /* The shortest precision that reads back as the same double. */
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    for (int prec = 1; prec <= 17; prec++) {
        char fmt[8];
        g_snprintf(fmt, sizeof fmt, "%%.%dg", prec);
        g_ascii_formatd(buf, sizeof buf, fmt, value);
        if (g_ascii_strtod(buf, NULL) == value)
            break;
    }
    g_string_append(self->out, buf);
}

void lens_json_bool(LensJson *self, gboolean value)
{
    before_item(self);
    g_string_append(self->out, value ? "true" : "false");
}

void lens_json_null(LensJson *self)
{
    before_item(self);
    g_string_append(self->out, "null");
}
