/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdKeyring: hemgated's own Secret Service, a gnome-keyring on a private bus, with one
 * collection per domain unlocked at start from a systemd credential or a key file.
 *
 * Why hemgated starts it rather than the unit: the installed hemgated has no login
 * session and so no session bus, and the unlock must be checked (wrong key, damaged file)
 * and reported in health before the plugin hosts ask for a secret; hemgated is the one
 * place that does both the same way under systemd, in the demo and in the tests.
 *
 * Everything lives in `<state-dir>/secrets` (0700): the bus socket `run/bus` (in a
 * private directory under /tmp instead when that path is too long for a socket), the keyring
 * files `keyrings/municipal.keyring` and `keyrings/personal.keyring` (gnome-keyring's
 * format, encrypted with the domain's key), and, where systemd credentials are not used,
 * the key files `municipal.key` and `personal.key` (0400). A domain's key is, in order:
 *
 *  1. `$CREDENTIALS_DIRECTORY/hemgate-<domain>-keyring` (the unit's
 *     `LoadCredentialEncrypted=`): protection "credential";
 *  2. the key file: protection "key-file";
 *  3. on a first start only (no keyring file yet), a new random key file.
 *
 * A keyring file that exists but cannot be opened (no key, a wrong key or another
 * device's, a damaged file) is a fault of that domain, and the file is left exactly as it
 * is: nothing is created in its place. gnome-keyring's internal interface
 * (`CreateWithMasterPassword`, `UnlockWithMasterPassword`) opens the collections without
 * a prompt; the key travels only over the private bus, in a "plain" session.
 *
 * libsecret reaches a Secret Service only on the session bus, so hemgated's session-bus
 * connection is made to the private bus once, at start, and kept: the variable
 * DBUS_SESSION_BUS_ADDRESS is set only for that moment and restored afterwards, so the
 * plugin hosts never learn the private bus. hemgated's own D-Bus to its hosts is
 * peer-to-peer and untouched. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hgd-keyring.h"

#define SECRETS_BUS_NAME "org.freedesktop.secrets"
#define SECRETS_PATH "/org/freedesktop/secrets"
#define SECRETS_INTERFACE "org.freedesktop.Secret.Service"
#define COLLECTION_INTERFACE "org.freedesktop.Secret.Collection"
#define INTERNAL_INTERFACE "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"

/* How long the keyring daemon may take to claim its name. */
#define START_TIMEOUT_MS 10000

/* Bytes of randomness in a generated key (base64 in the file). */
#define KEY_RANDOM_BYTES 32

/* Longest key read from a credential or key file. */
#define KEY_MAX_BYTES 4096

struct _HgdKeyring
{
  GObject parent_instance;
  gchar *dir;                                    /* (owned) <state-dir>/secrets */
  gchar *run_dir;                                /* (owned) (nullable) the sockets' */
  gboolean run_dir_is_tmp;                       /* made under /tmp, removed at stop */
  GSubprocess *bus_process;                      /* (owned) (nullable) */
  GSubprocess *keyring_process;                  /* (owned) (nullable) */
  GDBusConnection *connection;                   /* (owned) (nullable) */
  gchar *session;                                /* (owned) (nullable) */
  gchar *collections[HG_DOMAIN_LAST];            /* (owned) (nullable) */
  gchar *faults[HG_DOMAIN_LAST];                 /* (owned) (nullable) */
  HgdKeyringProtection protections[HG_DOMAIN_LAST];
  GCancellable *cancellable;                     /* (owned) the watch on the keyring daemon */
};

G_DEFINE_TYPE (HgdKeyring, hgd_keyring, G_TYPE_OBJECT)

/**
 * hgd_keyring_protection_to_string:
 * @protection: an #HgdKeyringProtection
 *
 * Returns: its name in health: `none`, `credential`, `key-file` or `test-keyring`
 */
const gchar *
hgd_keyring_protection_to_string (HgdKeyringProtection protection)
{
  switch (protection)
    {
    case HGD_KEYRING_PROTECTION_CREDENTIAL:
      return "credential";
    case HGD_KEYRING_PROTECTION_KEY_FILE:
      return "key-file";
    case HGD_KEYRING_PROTECTION_TEST_KEYRING:
      return "test-keyring";
    case HGD_KEYRING_PROTECTION_NONE:
    default:
      return "none";
    }
}

static void
wipe_free (gchar *key)
{
  if (key == NULL)
    return;
  memset (key, 0, strlen (key));
  g_free (key);
}

/* The key of a file: its text without the trailing newline `echo` or an editor adds. */
static gchar *
read_key (const gchar *path,
          GError **error)
{
  gchar *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, error))
    return NULL;
  while (length > 0 && (contents[length - 1] == '\n' || contents[length - 1] == '\r'))
    contents[--length] = '\0';
  if (length == 0 || length > KEY_MAX_BYTES || strlen (contents) != length ||
      !g_utf8_validate (contents, length, NULL))
    {
      memset (contents, 0, length);
      g_free (contents);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s is not a key: 1 to %d bytes of text without NUL", path, KEY_MAX_BYTES);
      return NULL;
    }
  return contents;
}

static gchar *
create_key_file (const gchar *path,
                 GError **error)
{
  guint8 random[KEY_RANDOM_BYTES];
  g_autofree gchar *key = NULL;
  g_autofree gchar *tmp = g_strconcat (path, ".new", NULL);
  gint fd;
  gsize length;

  for (gsize i = 0; i < sizeof random; i += 4)
    {
      guint32 word = g_random_int ();
      memcpy (random + i, &word, MIN (4, sizeof random - i));
    }
  /* the kernel's randomness, not GLib's generator, where it is available */
  fd = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      if (read (fd, random, sizeof random) != sizeof random)
        g_debug ("short read from /dev/urandom; the key uses GLib's generator");
      close (fd);
    }
  key = g_base64_encode (random, sizeof random);
  memset (random, 0, sizeof random);
  length = strlen (key);
  g_unlink (tmp);
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (fd < 0 || write (fd, key, length) != (gssize) length || fsync (fd) != 0)
    {
      gint saved = errno;

      if (fd >= 0)
        close (fd);
      g_unlink (tmp);
      memset (key, 0, length);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot write %s: %s",
                   tmp, g_strerror (saved));
      return NULL;
    }
  close (fd);
  if (g_rename (tmp, path) != 0)
    {
      gint saved = errno;

      g_unlink (tmp);
      memset (key, 0, length);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot rename %s: %s",
                   tmp, g_strerror (saved));
      return NULL;
    }
  return g_steal_pointer (&key);
}

/**
 * hgd_keyring_dup_file:
 * @self: an #HgdKeyring
 * @domain: a domain
 *
 * Returns: (transfer full): the path of @domain's keyring file
 */
gchar *
hgd_keyring_dup_file (HgdKeyring *self,
                      HgDomain domain)
{
  g_autofree gchar *name = g_strdup_printf ("%s.keyring", hg_domain_to_string (domain));

  g_return_val_if_fail (HGD_IS_KEYRING (self), NULL);
  return g_build_filename (self->dir, "keyrings", name, NULL);
}

/* A reader of gnome-keyring's file format (its pkcs11/secret-store/gkm-secret-binary.c),
 * as far as the part that is not encrypted: the header, the items' hashed attributes and
 * the size of the encrypted part. gnome-keyring trusts the item count it reads there and
 * allocates for it, so a damaged file can end the whole daemon, and with it the other
 * domain's keyring; a file that fails here is kept out of its reach. */
typedef struct
{
  const guint8 *data;
  gsize length;
  gsize offset;
} Reader;

static gboolean
read_u32 (Reader *reader,
          guint32 *value)
{
  if (reader->length - reader->offset < 4)
    return FALSE;
  *value = (guint32) reader->data[reader->offset] << 24 |
           (guint32) reader->data[reader->offset + 1] << 16 |
           (guint32) reader->data[reader->offset + 2] << 8 |
           (guint32) reader->data[reader->offset + 3];
  reader->offset += 4;
  return TRUE;
}

static gboolean
skip_bytes (Reader *reader,
            gsize n)
{
  if (reader->length - reader->offset < n)
    return FALSE;
  reader->offset += n;
  return TRUE;
}

/* A string: its length, or 0xffffffff for none, then its bytes. */
static gboolean
skip_string (Reader *reader)
{
  guint32 length;

  if (!read_u32 (reader, &length))
    return FALSE;
  return length == 0xffffffff || (length < 0x7fffffff && skip_bytes (reader, length));
}

static gboolean
keyring_file_is_sound (const gchar *path,
                       GError **error)
{
  static const guint8 magic[] = "GnomeKeyring\n\r\0\n";
  g_autofree gchar *contents = NULL;
  Reader reader = { NULL, 0, 0 };
  guint32 value;
  guint32 n_items;

  if (!g_file_get_contents (path, &contents, &reader.length, error))
    return FALSE;
  reader.data = (const guint8 *) contents;
  if (reader.length < 20 || memcmp (reader.data, magic, 16) != 0 ||
      memcmp (reader.data + 16, "\0\0\0\0", 4) != 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "not a keyring file of gnome-keyring's format 0.0");
      return FALSE;
    }
  reader.offset = 20;
  /* name, created and modified, flags, lock timeout, hash iterations, salt, reserved */
  if (!skip_string (&reader) || !skip_bytes (&reader, 8 + 8 + 4 + 4 + 4 + 8 + 16) ||
      !read_u32 (&reader, &n_items))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "its header is cut short");
      return FALSE;
    }
  /* each item takes at least its id, type and attribute count */
  if (n_items > (reader.length - reader.offset) / 12)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "it claims %u items, more than it could hold", n_items);
      return FALSE;
    }
  for (guint32 i = 0; i < n_items; i++)
    {
      guint32 n_attributes;

      if (!skip_bytes (&reader, 8) || !read_u32 (&reader, &n_attributes))
        break;
      for (guint32 j = 0; j < n_attributes; j++)
        {
          if (!skip_string (&reader) || !read_u32 (&reader, &value) ||
              (value == 0 && !skip_string (&reader)) || (value == 1 && !skip_bytes (&reader, 4)) ||
              value > 1)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "item %u of %u is damaged", i + 1, n_items);
              return FALSE;
            }
        }
    }
  if (!read_u32 (&reader, &value) || value % 16 != 0 || reader.length - reader.offset < value)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "its encrypted part is damaged or cut short");
      return FALSE;
    }
  return TRUE;
}

static gchar *
dup_damaged_file (HgdKeyring *self,
                  HgDomain domain)
{
  g_autofree gchar *name = g_strdup_printf ("%s.keyring", hg_domain_to_string (domain));

  return g_build_filename (self->dir, "damaged", name, NULL);
}

/* A keyring file gnome-keyring cannot be given (see keyring_file_is_sound ()) goes, as it
 * is, to <state-dir>/secrets/damaged/, and stays there, a fault of its domain, until an
 * administrator restores it from a backup or removes it: no new keyring replaces it. */
static void
set_aside_damaged (HgdKeyring *self,
                   HgDomain domain)
{
  const gchar *name = hg_domain_to_string (domain);
  g_autofree gchar *file = hgd_keyring_dup_file (self, domain);
  g_autofree gchar *aside = dup_damaged_file (self, domain);
  g_autofree gchar *aside_dir = g_path_get_dirname (aside);
  g_autoptr(GError) error = NULL;

  if (g_file_test (file, G_FILE_TEST_EXISTS) && !keyring_file_is_sound (file, &error))
    {
      if (g_file_test (aside, G_FILE_TEST_EXISTS))
        {
          self->faults[domain] = g_strdup_printf (
              "the %s keyring %s is damaged (%s), and so is %s; both are left as they are",
              name, file, error->message, aside);
          return;
        }
      if (g_mkdir_with_parents (aside_dir, 0700) != 0 || g_rename (file, aside) != 0)
        {
          self->faults[domain] = g_strdup_printf (
              "the %s keyring %s is damaged (%s) and cannot be set aside: %s", name, file,
              error->message, g_strerror (errno));
          return;
        }
    }
  if (g_file_test (aside, G_FILE_TEST_EXISTS))
    self->faults[domain] = g_strdup_printf (
        "the %s keyring was damaged and is set aside, unchanged, as %s; no %s secret is "
        "available until it is restored from a backup to %s or removed",
        name, aside, name, file);
}

/* Finds @domain's key, or makes one on a first start; else sets the domain's fault. */
static gchar *
find_key (HgdKeyring *self,
          HgDomain domain)
{
  const gchar *name = hg_domain_to_string (domain);
  const gchar *credentials = g_getenv ("CREDENTIALS_DIRECTORY");
  g_autofree gchar *credential_name = g_strdup_printf ("hemgate-%s-keyring", name);
  g_autofree gchar *credential = NULL;
  g_autofree gchar *key_file_name = g_strdup_printf ("%s.key", name);
  g_autofree gchar *key_file = g_build_filename (self->dir, key_file_name, NULL);
  g_autofree gchar *keyring_file = hgd_keyring_dup_file (self, domain);
  g_autoptr(GError) error = NULL;
  gchar *key;

  if (credentials != NULL && credentials[0] != '\0')
    credential = g_build_filename (credentials, credential_name, NULL);
  if (credential != NULL && g_file_test (credential, G_FILE_TEST_EXISTS))
    {
      key = read_key (credential, &error);
      if (key == NULL)
        {
          self->faults[domain] = g_strdup_printf ("the %s keyring's credential %s cannot be "
                                                  "read: %s", name, credential_name,
                                                  error->message);
          return NULL;
        }
      self->protections[domain] = HGD_KEYRING_PROTECTION_CREDENTIAL;
      return key;
    }
  if (g_file_test (key_file, G_FILE_TEST_EXISTS))
    {
      key = read_key (key_file, &error);
      if (key == NULL)
        {
          self->faults[domain] = g_strdup_printf ("the %s keyring's key file cannot be read: %s",
                                                  name, error->message);
          return NULL;
        }
      self->protections[domain] = HGD_KEYRING_PROTECTION_KEY_FILE;
      return key;
    }
  if (g_file_test (keyring_file, G_FILE_TEST_EXISTS))
    {
      self->faults[domain] = g_strdup_printf (
          "no key opens the %s keyring %s: neither the credential %s (LoadCredentialEncrypted= "
          "in hemgated.service) nor the key file %s exists; the keyring is left as it is",
          name, keyring_file, credential_name, key_file);
      return NULL;
    }
  /* a first start without a credential: a key file, as the installer would make */
  key = create_key_file (key_file, &error);
  if (key == NULL)
    {
      self->faults[domain] = g_strdup_printf ("the %s keyring has no key: %s", name,
                                              error->message);
      return NULL;
    }
  g_message ("created the key file %s for the new %s keyring; seal a key with systemd-creds "
             "instead (hemgated(8))", key_file, name);
  self->protections[domain] = HGD_KEYRING_PROTECTION_KEY_FILE;
  return key;
}

static void
child_setup (gpointer user_data)
{
  /* the keyring and its bus never outlive hemgated */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* Where the sockets go: <state-dir>/secrets/run, unless that makes a socket path longer
 * than a socket address holds (a deep state directory, as in the tests); then a directory
 * of its own under the temporary directory (the unit's PrivateTmp=), named after the user
 * and the state directory so that one killed hemgated leaves at most one behind, which
 * the next start takes over if it is still this user's alone. Removed at stop. */
static gboolean
make_run_dir (HgdKeyring *self,
              GError **error)
{
  g_autofree gchar *run = g_build_filename (self->dir, "run", NULL);
  g_autofree gchar *checksum = NULL;
  g_autofree gchar *name = NULL;
  g_autofree gchar *control = NULL;
  struct stat info;

  if (strlen (run) + strlen ("/keyring/control") < 100)
    {
      if (g_mkdir_with_parents (run, 0700) != 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "cannot create %s: %s",
                       run, g_strerror (errno));
          return FALSE;
        }
      self->run_dir = g_steal_pointer (&run);
      self->run_dir_is_tmp = FALSE;
      return TRUE;
    }
  checksum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, self->dir, -1);
  name = g_strdup_printf ("hemgate-secrets-%u-%.16s", (guint) getuid (), checksum);
  self->run_dir = g_build_filename (g_get_tmp_dir (), name, NULL);
  self->run_dir_is_tmp = TRUE;
  if ((g_mkdir (self->run_dir, 0700) == 0 || errno == EEXIST) &&
      g_lstat (self->run_dir, &info) == 0 && S_ISDIR (info.st_mode) &&
      info.st_uid == getuid () && (info.st_mode & 0077) == 0)
    {
      control = g_build_filename (self->run_dir, "keyring", "control", NULL);
      g_unlink (control);
      return TRUE;
    }
  /* not ours alone: a fresh one */
  g_clear_pointer (&self->run_dir, g_free);
  self->run_dir = g_dir_make_tmp ("hemgate-secrets-XXXXXX", error);
  self->run_dir_is_tmp = self->run_dir != NULL;
  return self->run_dir != NULL;
}

static void
remove_run_dir (HgdKeyring *self)
{
  g_autofree gchar *bus = NULL;
  g_autofree gchar *control = NULL;
  g_autofree gchar *keyring = NULL;

  if (self->run_dir == NULL)
    return;
  bus = g_build_filename (self->run_dir, "bus", NULL);
  keyring = g_build_filename (self->run_dir, "keyring", NULL);
  control = g_build_filename (keyring, "control", NULL);
  g_unlink (bus);
  if (self->run_dir_is_tmp)
    {
      g_unlink (control);
      g_rmdir (keyring);
      g_rmdir (self->run_dir);
    }
  g_clear_pointer (&self->run_dir, g_free);
}

static gboolean
start_bus (HgdKeyring *self,
           gchar **address,
           GError **error)
{
  g_autofree gchar *socket = g_build_filename (self->run_dir, "bus", NULL);
  g_autofree gchar *conf_path = g_build_filename (self->dir, "bus.conf", NULL);
  g_autofree gchar *conf = NULL;
  g_autofree gchar *escaped = NULL;
  g_autofree gchar *program = g_find_program_in_path ("dbus-daemon");
  const gchar *environ[] = { "LC_ALL=C.UTF-8", NULL };
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree gchar *line = NULL;

  if (program == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "dbus-daemon is not installed (package dbus-daemon)");
      return FALSE;
    }
  g_unlink (socket);
  escaped = g_markup_escape_text (socket, -1);
  /* a bus of its own: no activation (no service directories), only this user */
  conf = g_strdup_printf (
      "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
      " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
      "<busconfig>\n"
      "  <type>session</type>\n"
      "  <listen>unix:path=%s</listen>\n"
      "  <auth>EXTERNAL</auth>\n"
      "  <policy context=\"default\">\n"
      "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
      "    <allow eavesdrop=\"true\"/>\n"
      "    <allow own=\"*\"/>\n"
      "  </policy>\n"
      "</busconfig>\n",
      escaped);
  if (!g_file_set_contents_full (conf_path, conf, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 error))
    return FALSE;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  /* nothing of hemgated's environment: NOTIFY_SOCKET would let it tell systemd "ready" */
  g_subprocess_launcher_set_environ (launcher, (gchar **) environ);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  self->bus_process = g_subprocess_launcher_spawn (launcher, error, program, "--nofork",
                                                   "--nopidfile", "--nosyslog",
                                                   "--config-file", conf_path,
                                                   "--print-address=1", NULL);
  if (self->bus_process == NULL)
    return FALSE;
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->bus_process));
  line = g_data_input_stream_read_line (out, NULL, NULL, error);
  if (line == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                             "the private dbus-daemon exited at start");
      return FALSE;
    }
  *address = g_strdup (g_strstrip (line));
  return TRUE;
}

static gboolean
start_keyring_daemon (HgdKeyring *self,
                      const gchar *address,
                      GError **error)
{
  g_autofree gchar *program = g_find_program_in_path ("gnome-keyring-daemon");
  g_autofree gchar *env_address = g_strconcat ("DBUS_SESSION_BUS_ADDRESS=", address, NULL);
  g_autofree gchar *env_home = g_strconcat ("HOME=", self->dir, NULL);
  g_autofree gchar *env_data = g_strconcat ("XDG_DATA_HOME=", self->dir, NULL);
  g_autofree gchar *env_config = g_strconcat ("XDG_CONFIG_HOME=", self->dir, NULL);
  g_autofree gchar *env_cache = g_strconcat ("XDG_CACHE_HOME=", self->dir, NULL);
  g_autofree gchar *env_runtime = g_strconcat ("XDG_RUNTIME_DIR=", self->run_dir, NULL);
  const gchar *environ[] = { env_address, env_home, env_data, env_config, env_cache,
                             env_runtime, "LC_ALL=C.UTF-8", NULL };
  g_autoptr(GSubprocessLauncher) launcher = NULL;

  if (program == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "gnome-keyring-daemon is not installed (package gnome-keyring)");
      return FALSE;
    }
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  /* nothing of hemgated's environment: no display to prompt on, no other bus */
  g_subprocess_launcher_set_environ (launcher, (gchar **) environ);
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  self->keyring_process = g_subprocess_launcher_spawn (launcher, error, program, "--foreground",
                                                       "--components=secrets", NULL);
  return self->keyring_process != NULL;
}

/* Makes the process' session-bus connection, which libsecret uses, the private bus. */
static gboolean
pin_session_bus (HgdKeyring *self,
                 const gchar *address,
                 GError **error)
{
  g_autofree gchar *previous = g_strdup (g_getenv ("DBUS_SESSION_BUS_ADDRESS"));
  const gchar *guid = strstr (address, "guid=");

  g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
  self->connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, error);
  if (previous != NULL)
    g_setenv ("DBUS_SESSION_BUS_ADDRESS", previous, TRUE);
  else
    g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  if (self->connection == NULL)
    return FALSE;
  /* a session bus connected before this would be the wrong one, and silently so */
  if (guid == NULL ||
      strncmp (guid + strlen ("guid="), g_dbus_connection_get_guid (self->connection),
               strlen (g_dbus_connection_get_guid (self->connection))) != 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "hemgated was already connected to another session bus before its "
                           "keyring started");
      return FALSE;
    }
  g_dbus_connection_set_exit_on_close (self->connection, FALSE);
  return TRUE;
}

static gboolean
wait_for_keyring (HgdKeyring *self,
                  GError **error)
{
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(GVariant) reply = NULL;
      gboolean owned = FALSE;

      if (g_subprocess_get_identifier (self->keyring_process) == NULL)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "gnome-keyring-daemon exited at start (see its messages above)");
          return FALSE;
        }
      reply = g_dbus_connection_call_sync (self->connection, "org.freedesktop.DBus",
                                           "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                           "NameHasOwner", g_variant_new ("(s)", SECRETS_BUS_NAME),
                                           G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                           NULL, error);
      if (reply == NULL)
        return FALSE;
      g_variant_get (reply, "(b)", &owned);
      if (owned)
        return TRUE;
      g_usleep (20 * G_TIME_SPAN_MILLISECOND);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               "gnome-keyring-daemon did not claim %s within %d s", SECRETS_BUS_NAME,
               START_TIMEOUT_MS / 1000);
  return FALSE;
}

static GVariant *
call (HgdKeyring *self,
      const gchar *path,
      const gchar *interface,
      const gchar *method,
      GVariant *parameters,
      const GVariantType *reply_type,
      GError **error)
{
  GVariant *reply = g_dbus_connection_call_sync (self->connection, SECRETS_BUS_NAME, path,
                                                 interface, method, parameters, reply_type,
                                                 G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, error);

  if (reply == NULL && error != NULL && g_dbus_error_is_remote_error (*error))
    g_dbus_error_strip_remote_error (*error);
  return reply;
}

/* The key as a Secret Service secret of the plain session: only on the private bus. */
static GVariant *
build_secret (HgdKeyring *self,
              const gchar *key)
{
  return g_variant_new ("(o@ay@ays)", self->session,
                        g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "", 0, 1),
                        g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, key, strlen (key), 1),
                        "text/plain");
}

static gboolean
collection_exists (HgdKeyring *self,
                   const gchar *path,
                   GError **error)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autofree const gchar **paths = NULL;

  reply = call (self, SECRETS_PATH, "org.freedesktop.DBus.Properties", "Get",
                g_variant_new ("(ss)", SECRETS_INTERFACE, "Collections"), G_VARIANT_TYPE ("(v)"),
                error);
  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(v)", &value);
  paths = g_variant_get_objv (value, NULL);
  return g_strv_contains (paths, path);
}

static gboolean
collection_is_locked (HgdKeyring *self,
                      const gchar *path)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;

  reply = call (self, path, "org.freedesktop.DBus.Properties", "Get",
                g_variant_new ("(ss)", COLLECTION_INTERFACE, "Locked"), G_VARIANT_TYPE ("(v)"),
                NULL);
  if (reply == NULL)
    return TRUE;
  g_variant_get (reply, "(v)", &value);
  return !g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN) || g_variant_get_boolean (value);
}

/* Unlocks @domain's collection with @key, or creates it on a first start. */
static void
open_collection (HgdKeyring *self,
                 HgDomain domain,
                 const gchar *key)
{
  const gchar *name = hg_domain_to_string (domain);
  g_autofree gchar *path = g_strconcat (SECRETS_PATH "/collection/", name, NULL);
  g_autofree gchar *file = hgd_keyring_dup_file (self, domain);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  if (collection_exists (self, path, &error))
    {
      reply = call (self, SECRETS_PATH, INTERNAL_INTERFACE, "UnlockWithMasterPassword",
                    g_variant_new ("(o@(oayays))", path, build_secret (self, key)), NULL, &error);
      if (reply == NULL)
        {
          self->faults[domain] = g_strdup_printf (
              "the %s key does not open the keyring %s (%s): a wrong key, or a keyring of "
              "another device; the keyring is left as it is",
              name, file, error->message);
          return;
        }
    }
  else if (error != NULL)
    {
      self->faults[domain] = g_strdup_printf ("the %s keyring: %s", name, error->message);
      return;
    }
  else if (g_file_test (file, G_FILE_TEST_EXISTS))
    {
      self->faults[domain] = g_strdup_printf (
          "the %s keyring %s cannot be read: damaged, or not a keyring; it is left as it is "
          "and no %s secret is available until it is restored from a backup or removed",
          name, file, name);
      return;
    }
  else
    {
      GVariantBuilder properties;
      const gchar *created = NULL;

      g_variant_builder_init (&properties, G_VARIANT_TYPE ("a{sv}"));
      g_variant_builder_add (&properties, "{sv}", COLLECTION_INTERFACE ".Label",
                             g_variant_new_string (name));
      reply = call (self, SECRETS_PATH, INTERNAL_INTERFACE, "CreateWithMasterPassword",
                    g_variant_new ("(a{sv}@(oayays))", &properties, build_secret (self, key)),
                    G_VARIANT_TYPE ("(o)"), &error);
      if (reply == NULL)
        {
          self->faults[domain] = g_strdup_printf ("the %s keyring cannot be created: %s", name,
                                                  error->message);
          return;
        }
      g_variant_get (reply, "(&o)", &created);
      if (g_strcmp0 (created, path) != 0)
        {
          self->faults[domain] = g_strdup_printf ("the %s keyring was created as %s, not %s",
                                                  name, created, path);
          return;
        }
      g_message ("created the %s keyring %s", name, file);
    }
  if (collection_is_locked (self, path))
    {
      self->faults[domain] = g_strdup_printf ("the %s keyring %s stays locked", name, file);
      return;
    }
  self->collections[domain] = g_steal_pointer (&path);
}

/* gnome-keyring gone while hemgated runs: every secret is unavailable, and health says so
 * until hemgated is restarted (systemd restarts it when it is stopped). */
static void
keyring_exited_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  GSubprocess *process = G_SUBPROCESS (source);
  g_autoptr(GError) error = NULL;
  HgdKeyring *self;

  if (!g_subprocess_wait_finish (process, result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HGD_KEYRING (user_data);
  if (self->keyring_process != process)
    return;
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_clear_pointer (&self->collections[i], g_free);
      if (self->faults[i] == NULL)
        self->faults[i] = g_strdup ("hemgated's Secret Service (gnome-keyring-daemon) exited; "
                                    "restart hemgated");
      self->protections[i] = HGD_KEYRING_PROTECTION_NONE;
    }
  g_warning ("secrets: gnome-keyring-daemon exited; no secret is available until hemgated "
             "restarts");
}

/**
 * hgd_keyring_start:
 * @self: an #HgdKeyring
 * @error: return location for a #GError
 *
 * Starts the private bus and gnome-keyring, and opens each domain's keyring. Blocks for
 * as long as that takes (well under a second; at most 10 s).
 *
 * A domain whose keyring cannot be opened is not an error here: it has a fault
 * (hgd_keyring_get_fault()), and its secrets are unavailable.
 *
 * Returns: %FALSE, with @error, when the Secret Service itself cannot be started; then
 *   both domains have that as their fault
 */
gboolean
hgd_keyring_start (HgdKeyring *self,
                   GError **error)
{
  g_autofree gchar *address = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) output = NULL;
  gchar *keys[HG_DOMAIN_LAST] = { NULL };

  g_return_val_if_fail (HGD_IS_KEYRING (self), FALSE);
  g_return_val_if_fail (self->bus_process == NULL, FALSE);

  if (g_mkdir_with_parents (self->dir, 0700) != 0 || g_chmod (self->dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "cannot create %s: %s",
                   self->dir, g_strerror (errno));
      return FALSE;
    }
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    set_aside_damaged (self, (HgDomain) i);
  if (!make_run_dir (self, error) || !start_bus (self, &address, error) ||
      !start_keyring_daemon (self, address, error) ||
      !pin_session_bus (self, address, error) || !wait_for_keyring (self, error) ||
      (reply = call (self, SECRETS_PATH, SECRETS_INTERFACE, "OpenSession",
                     g_variant_new ("(sv)", "plain", g_variant_new_string ("")),
                     G_VARIANT_TYPE ("(vo)"), error)) == NULL)
    {
      hgd_keyring_stop (self);
      for (guint i = 0; i < HG_DOMAIN_LAST; i++)
        {
          if (self->faults[i] != NULL)
            continue;
          self->faults[i] = g_strdup_printf ("hemgated's Secret Service did not start: %s",
                                             error != NULL && *error != NULL ? (*error)->message
                                                                             : "failed");
          self->protections[i] = HGD_KEYRING_PROTECTION_NONE;
        }
      return FALSE;
    }
  g_variant_get (reply, "(vo)", &output, &self->session);
  g_subprocess_wait_async (self->keyring_process, self->cancellable, keyring_exited_cb, self);

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      if (self->faults[i] == NULL)
        keys[i] = find_key (self, (HgDomain) i);
      if (keys[i] != NULL)
        open_collection (self, (HgDomain) i, keys[i]);
      wipe_free (keys[i]);
      if (self->faults[i] != NULL)
        {
          self->protections[i] = HGD_KEYRING_PROTECTION_NONE;
          g_warning ("secrets: %s", self->faults[i]);
        }
      else
        g_message ("secrets: the %s keyring is open (%s)", hg_domain_to_string ((HgDomain) i),
                   hgd_keyring_protection_to_string (self->protections[i]));
    }
  return TRUE;
}

static void
stop_process (GSubprocess **process)
{
  if (*process == NULL)
    return;
  g_subprocess_send_signal (*process, SIGTERM);
  g_subprocess_wait (*process, NULL, NULL);
  g_clear_object (process);
}

/**
 * hgd_keyring_stop:
 * @self: an #HgdKeyring
 *
 * Stops gnome-keyring and the private bus; every secret is then unavailable. Everything
 * stored is on disk already: the keyring writes each change when it is made.
 */
void
hgd_keyring_stop (HgdKeyring *self)
{
  g_return_if_fail (HGD_IS_KEYRING (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  /* libsecret's Secret Service proxy is on the bus about to go: a new start makes another */
  if (self->connection != NULL)
    secret_service_disconnect ();
  stop_process (&self->keyring_process);
  if (self->connection != NULL)
    g_dbus_connection_close_sync (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
  stop_process (&self->bus_process);
  remove_run_dir (self);
  g_clear_pointer (&self->session, g_free);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_pointer (&self->collections[i], g_free);
}

/**
 * hgd_keyring_get_collection:
 * @self: an #HgdKeyring
 * @domain: a domain
 *
 * Returns: (nullable): the D-Bus path of @domain's open collection, or %NULL when it is
 *   not open (see hgd_keyring_get_fault())
 */
const gchar *
hgd_keyring_get_collection (HgdKeyring *self,
                            HgDomain domain)
{
  g_return_val_if_fail (HGD_IS_KEYRING (self), NULL);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, NULL);
  return self->collections[domain];
}

/**
 * hgd_keyring_get_fault:
 * @self: an #HgdKeyring
 * @domain: a domain
 *
 * Returns: (nullable): why @domain's keyring is not open, or %NULL
 */
const gchar *
hgd_keyring_get_fault (HgdKeyring *self,
                       HgDomain domain)
{
  g_return_val_if_fail (HGD_IS_KEYRING (self), NULL);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, NULL);
  return self->faults[domain];
}

/**
 * hgd_keyring_get_protection:
 * @self: an #HgdKeyring
 * @domain: a domain
 *
 * Returns: what unlocked @domain's keyring
 */
HgdKeyringProtection
hgd_keyring_get_protection (HgdKeyring *self,
                            HgDomain domain)
{
  g_return_val_if_fail (HGD_IS_KEYRING (self), HGD_KEYRING_PROTECTION_NONE);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, HGD_KEYRING_PROTECTION_NONE);
  return self->protections[domain];
}

static void
hgd_keyring_dispose (GObject *object)
{
  HgdKeyring *self = HGD_KEYRING (object);

  hgd_keyring_stop (self);
  G_OBJECT_CLASS (hgd_keyring_parent_class)->dispose (object);
}

static void
hgd_keyring_finalize (GObject *object)
{
  HgdKeyring *self = HGD_KEYRING (object);

  g_free (self->dir);
  g_clear_object (&self->cancellable);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_free (self->faults[i]);
  G_OBJECT_CLASS (hgd_keyring_parent_class)->finalize (object);
}

static void
hgd_keyring_class_init (HgdKeyringClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hgd_keyring_dispose;
  object_class->finalize = hgd_keyring_finalize;
}

static void
hgd_keyring_init (HgdKeyring *self)
{
  self->cancellable = g_cancellable_new ();
}

/**
 * hgd_keyring_new:
 * @state_dir: hemgated's state directory
 *
 * Returns: (transfer full): a keyring in `@state_dir/secrets`, not started
 */
HgdKeyring *
hgd_keyring_new (const gchar *state_dir)
{
  HgdKeyring *self;

  g_return_val_if_fail (state_dir != NULL, NULL);
  self = g_object_new (HGD_TYPE_KEYRING, NULL);
  self->dir = g_build_filename (state_dir, "secrets", NULL);
  return self;
}
