/* main.c — palilens: sets up the locale and translations, finds the
 * settings schema when run from the build tree, and runs LensApplication. */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "lens-application.h"

/* When the program runs from the build tree (./build/app/palilens) its
 * schema and translations are there too, not installed. */
static gboolean running_uninstalled(void)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    return exe != NULL && g_str_has_prefix(exe, BUILD_ROOT "/");
}

int main(int argc, char **argv)
{
    gboolean uninstalled = running_uninstalled();
    setlocale(LC_ALL, "");
    bindtextdomain(GETTEXT_PACKAGE, uninstalled ? BUILD_LOCALEDIR : LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);
    if (uninstalled)
        g_setenv("GSETTINGS_SCHEMA_DIR", BUILD_SCHEMADIR, FALSE);

    g_autoptr(LensApplication) app = lens_application_new();
    return g_application_run(G_APPLICATION(app), argc, argv);
}
