/* lens-languages.h — the languages PaliGemma 2 answers in
 * (pali_task_languages(): big_vision's COCO-35L codes and quz), named in
 * the user's language ("German (de)", "Deutsch (de)"), and the language
 * drop-downs of the task panel and the preferences, which show those names
 * sorted and hand back the codes that go to pali_task_prompt. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* The translated name of a code of pali_task_languages() ("German"), or
 * NULL for a code this table does not know. */
const char *lens_language_name(const char *code);
/* What a drop-down shows: "German (de)"; the code alone when it has no
 * name. */
char *lens_language_label(const char *code);

/* Fills `drop_down` with every language, sorted by translated name, and
 * makes its search match the names.  Selects English. */
void lens_language_drop_down_setup(GtkDropDown *drop_down);
/* The position of `code` in the drop-down, or GTK_INVALID_LIST_POSITION. */
guint lens_language_drop_down_find(GtkDropDown *drop_down, const char *code);
/* The code shown at `position`, or NULL. */
const char *lens_language_drop_down_code_at(GtkDropDown *drop_down,
                                            guint position);
/* The code of the selected language ("en" when none is selected). */
const char *lens_language_drop_down_get_code(GtkDropDown *drop_down);
/* Selects `code`; FALSE (selection unchanged) when it is not listed. */
gboolean lens_language_drop_down_set_code(GtkDropDown *drop_down,
                                          const char *code);

G_END_DECLS
