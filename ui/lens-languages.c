/* lens-languages.c — language names and drop-downs (see lens-languages.h).
 * The names are English in the source (with the context "language", so
 * that a name never clashes with another string) and translated through
 * gettext; the drop-down keeps the codes, in the order it shows them, on
 * the widget. */
#include "config.h"

#include "lens-languages.h"

#include <glib/gi18n.h>
#include <string.h>

#include "pali.h"

/* Object data of a set-up drop-down: the codes in displayed order. */
#define CODES_KEY "lens-language-codes"
/* The default answer language, as pali_task_prompt's. */
#define DEFAULT_CODE "en"

static const struct {
    const char *code;
    const char *name; /* NC_("language", …) */
} names[] = {
    { "ar", NC_("language", "Arabic") },
    { "bn", NC_("language", "Bengali") },
    { "cs", NC_("language", "Czech") },
    { "da", NC_("language", "Danish") },
    { "de", NC_("language", "German") },
    { "el", NC_("language", "Greek") },
    { "en", NC_("language", "English") },
    { "es", NC_("language", "Spanish") },
    { "fa", NC_("language", "Persian") },
    { "fi", NC_("language", "Finnish") },
    { "fil", NC_("language", "Filipino") },
    { "fr", NC_("language", "French") },
    { "he", NC_("language", "Hebrew") },
    { "hi", NC_("language", "Hindi") },
    { "hr", NC_("language", "Croatian") },
    { "hu", NC_("language", "Hungarian") },
    { "id", NC_("language", "Indonesian") },
    { "it", NC_("language", "Italian") },
    { "ja", NC_("language", "Japanese") },
    { "ko", NC_("language", "Korean") },
    { "mi", NC_("language", "Māori") },
    { "nl", NC_("language", "Dutch") },
    { "no", NC_("language", "Norwegian") },
    { "pl", NC_("language", "Polish") },
    { "pt", NC_("language", "Portuguese") },
    { "quz", NC_("language", "Cusco Quechua") },
    { "ro", NC_("language", "Romanian") },
    { "ru", NC_("language", "Russian") },
    { "sv", NC_("language", "Swedish") },
    { "sw", NC_("language", "Swahili") },
    { "te", NC_("language", "Telugu") },
    { "th", NC_("language", "Thai") },
    { "tr", NC_("language", "Turkish") },
    { "uk", NC_("language", "Ukrainian") },
    { "vi", NC_("language", "Vietnamese") },
    { "zh", NC_("language", "Chinese") },
};

const char *lens_language_name(const char *code)
{
    for (gsize i = 0; code != NULL && i < G_N_ELEMENTS(names); i++)
        if (strcmp(names[i].code, code) == 0)
            return g_dpgettext2(GETTEXT_PACKAGE, "language", names[i].name);
    return NULL;
}

char *lens_language_label(const char *code)
{
    const char *name = lens_language_name(code);
    /* Translators: a language and its code, e.g. "German (de)" */
    return name ? g_strdup_printf(_("%s (%s)"), name, code) : g_strdup(code);
}

typedef struct {
    const char *code;
    char *label;
    char *key; /* collation key of the label */
} Entry;

static int compare_entries(gconstpointer a, gconstpointer b)
{
    return strcmp(((const Entry *)a)->key, ((const Entry *)b)->key);
}

void lens_language_drop_down_setup(GtkDropDown *drop_down)
{
    g_return_if_fail(GTK_IS_DROP_DOWN(drop_down));
    const char *const *codes = pali_task_languages();
    guint n = g_strv_length((char **)codes);
    g_autofree Entry *entries = g_new0(Entry, n);
    for (guint i = 0; i < n; i++) {
        entries[i].code = codes[i];
        entries[i].label = lens_language_label(codes[i]);
        entries[i].key = g_utf8_collate_key(entries[i].label, -1);
    }
    qsort(entries, n, sizeof(Entry), compare_entries);

    g_autoptr(GtkStringList) labels = gtk_string_list_new(NULL);
    char **sorted = g_new0(char *, n + 1);
    for (guint i = 0; i < n; i++) {
        gtk_string_list_append(labels, entries[i].label);
        sorted[i] = g_strdup(entries[i].code);
        g_free(entries[i].label);
        g_free(entries[i].key);
    }
    g_object_set_data_full(G_OBJECT(drop_down), CODES_KEY, sorted,
                           (GDestroyNotify)g_strfreev);
    /* the search field matches the shown names */
    g_autoptr(GtkExpression) expression =
        gtk_property_expression_new(GTK_TYPE_STRING_OBJECT, NULL, "string");
    gtk_drop_down_set_expression(drop_down, expression);
    gtk_drop_down_set_model(drop_down, G_LIST_MODEL(labels));
    lens_language_drop_down_set_code(drop_down, DEFAULT_CODE);
}

guint lens_language_drop_down_find(GtkDropDown *drop_down, const char *code)
{
    char **codes = g_object_get_data(G_OBJECT(drop_down), CODES_KEY);
    for (guint i = 0; codes != NULL && code != NULL && codes[i] != NULL; i++)
        if (strcmp(codes[i], code) == 0)
            return i;
    return GTK_INVALID_LIST_POSITION;
}

const char *lens_language_drop_down_code_at(GtkDropDown *drop_down,
                                            guint position)
{
    char **codes = g_object_get_data(G_OBJECT(drop_down), CODES_KEY);
    if (codes == NULL || position >= g_strv_length(codes))
        return NULL;
    return codes[position];
}

const char *lens_language_drop_down_get_code(GtkDropDown *drop_down)
{
    const char *code = lens_language_drop_down_code_at(
        drop_down, gtk_drop_down_get_selected(drop_down));
    return code ? code : DEFAULT_CODE;
}

gboolean lens_language_drop_down_set_code(GtkDropDown *drop_down,
                                          const char *code)
{
    guint position = lens_language_drop_down_find(drop_down, code);
    if (position == GTK_INVALID_LIST_POSITION)
        return FALSE;
    gtk_drop_down_set_selected(drop_down, position);
    return TRUE;
}
