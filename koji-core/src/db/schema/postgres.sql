-- koji-rs: the hub database, PostgreSQL dialect.
--
-- Tables, columns, types, constraints, indexes and seed rows are those of
-- upstream Koji 1.35, so this schema can serve (and be served by) an
-- upstream hub. The SQLite schema is derived from this file by
-- `schema::sqlite_statements()`; keep to constructs its translator knows.
--
-- Conventions of the versioned tables ("history" tables):
--   create_event  the event that created the row
--   revoke_event  the event that revoked it, NULL while it is current
--   creator_id / revoker_id  who did it
--   active        TRUE while current, NULL once revoked (never FALSE), so
--                 that UNIQUE (..., active) binds only the current rows
-- A row is visible as of event E when create_event <= E and
-- (revoke_event IS NULL OR E < revoke_event).
--
-- Table constraints follow all the columns of their table, as SQLite
-- requires (the order of constraints does not change the catalog).
--
-- Seed rows go into SERIAL columns in a fixed order: their ids are part of
-- the interface (permission 1 is admin, channel 1 is default, ...). Only
-- append to the seed lists.


------------------------------------------------------------------------
-- events

CREATE TABLE events (
    id      SERIAL NOT NULL PRIMARY KEY,
    time    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

-- the default of every create_event column: opens a new event
CREATE FUNCTION get_event() RETURNS INTEGER LANGUAGE SQL AS $$
    INSERT INTO events (time) VALUES (clock_timestamp()) RETURNING id;
$$;

-- the time of an event, for ad-hoc queries
CREATE FUNCTION get_event_time(INTEGER) RETURNS TIMESTAMPTZ LANGUAGE SQL AS $$
    SELECT time FROM events WHERE id = $1;
$$;

CREATE TABLE event_labels (
    event_id    INTEGER NOT NULL REFERENCES events (id),
    label       VARCHAR(255) UNIQUE NOT NULL
);


------------------------------------------------------------------------
-- users, groups, permissions, sessions

-- usertype: 0 normal, 1 host, 2 group; status: 0 normal, 1 blocked
CREATE TABLE users (
    id          SERIAL NOT NULL PRIMARY KEY,
    name        VARCHAR(255) UNIQUE NOT NULL,
    password    VARCHAR(255),
    status      INTEGER NOT NULL,
    usertype    INTEGER NOT NULL
);

CREATE TABLE user_krb_principals (
    user_id         INTEGER NOT NULL REFERENCES users (id),
    krb_principal   VARCHAR(255) NOT NULL UNIQUE,
    PRIMARY KEY (user_id, krb_principal)
);

CREATE TABLE permissions (
    id          SERIAL NOT NULL PRIMARY KEY,
    name        VARCHAR(50) UNIQUE NOT NULL,
    description TEXT
);

INSERT INTO permissions (name, description) VALUES
    ('admin', 'Full administrator access. Perform all actions.'),
    ('appliance', 'Create appliance builds - deprecated.'),
    ('dist-repo', 'Create a dist-repo.'),
    ('host', 'Add, remove, enable, disable hosts and channels.'),
    ('image', 'Start image tasks.'),
    ('image-import', 'Import image archives.'),
    ('livecd', 'Start livecd tasks.'),
    ('maven-import', 'Import maven archives.'),
    ('repo', 'Manage repos: newRepo, repoExpire, repoDelete, repoProblem.'),
    ('sign', 'Import RPM signatures and write signed RPMs.'),
    ('tag', 'Manage packages in tags: add, block, remove, and clone tags.'),
    ('target', 'Add, edit, and remove targets.'),
    ('win-admin', 'The default hub policy rule for "vm" requires this permission to trigger Windows builds.'),
    ('win-import', 'Import win archives.'),
    ('draft-promoter', 'The permission required in the default "draft_promotion" hub policy rule to promote draft build.');

CREATE TABLE user_perms (
    user_id     INTEGER NOT NULL REFERENCES users (id),
    perm_id     INTEGER NOT NULL REFERENCES permissions (id),
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, user_id, perm_id),
    UNIQUE (user_id, perm_id, active)
);

-- membership of a user in a group (a group is a user with usertype 2)
CREATE TABLE user_groups (
    user_id     INTEGER NOT NULL REFERENCES users (id),
    group_id    INTEGER NOT NULL REFERENCES users (id),
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, user_id, group_id),
    UNIQUE (user_id, group_id, active)
);

-- master: the top-level session of a subsession (NULL for a top-level one).
-- exclusive: TRUE or NULL, so UNIQUE (user_id, exclusive) allows one
-- exclusive session per user.
CREATE TABLE sessions (
    id          SERIAL NOT NULL PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    expired     BOOLEAN NOT NULL DEFAULT FALSE,
    master      INTEGER REFERENCES sessions (id),
    key         VARCHAR(255),
    authtype    INTEGER,
    hostip      VARCHAR(255),
    callnum     INTEGER,
    start_time  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    update_time TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    "exclusive" BOOLEAN CHECK ("exclusive"),
    closed      BOOLEAN NOT NULL DEFAULT FALSE,
    renew_time  TIMESTAMPTZ,
    CONSTRAINT no_exclusive_subsessions CHECK (master IS NULL OR "exclusive" IS NULL),
    CONSTRAINT no_closed_exclusive CHECK (closed IS FALSE OR "exclusive" IS NULL),
    UNIQUE (user_id, "exclusive")
);

CREATE INDEX sessions_master ON sessions (master);
CREATE INDEX sessions_active_and_recent ON sessions (expired, master, update_time)
    WHERE (expired = FALSE AND master IS NULL);
CREATE INDEX sessions_expired ON sessions (expired);


------------------------------------------------------------------------
-- channels and hosts

CREATE TABLE channels (
    id          SERIAL NOT NULL PRIMARY KEY,
    name        VARCHAR(128) UNIQUE NOT NULL,
    description TEXT,
    enabled     BOOLEAN NOT NULL DEFAULT 'true',
    comment     TEXT
);

INSERT INTO channels (name) VALUES
    ('default'),
    ('createrepo'),
    ('maven'),
    ('livecd'),
    ('appliance'),
    ('vm'),
    ('image'),
    ('livemedia');

-- every host also has a row in users (usertype 1)
CREATE TABLE host (
    id          SERIAL NOT NULL PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    name        VARCHAR(128) UNIQUE NOT NULL,
    update_time TIMESTAMPTZ,
    task_load   FLOAT CHECK (NOT task_load < 0) NOT NULL DEFAULT 0.0,
    ready       BOOLEAN NOT NULL DEFAULT 'false'
);

CREATE TABLE host_config (
    host_id     INTEGER NOT NULL REFERENCES host (id),
    arches      TEXT,
    capacity    FLOAT CHECK (capacity > 1) NOT NULL DEFAULT 2.0,
    description TEXT,
    comment     TEXT,
    enabled     BOOLEAN NOT NULL DEFAULT 'true',
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, host_id),
    UNIQUE (host_id, active)
);

CREATE INDEX host_config_by_active_and_enabled ON host_config (active, enabled);

CREATE TABLE host_channels (
    host_id     INTEGER NOT NULL REFERENCES host (id),
    channel_id  INTEGER NOT NULL REFERENCES channels (id),
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, host_id, channel_id),
    UNIQUE (host_id, channel_id, active)
);


------------------------------------------------------------------------
-- tasks

-- request and result hold XML-RPC encoded data; host_id is the task's
-- lock; label names a subtask within its parent (unique per parent).
CREATE TABLE task (
    id              SERIAL NOT NULL PRIMARY KEY,
    state           INTEGER,
    create_time     TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    start_time      TIMESTAMPTZ,
    completion_time TIMESTAMPTZ,
    channel_id      INTEGER NOT NULL REFERENCES channels (id),
    host_id         INTEGER REFERENCES host (id),
    parent          INTEGER REFERENCES task (id),
    label           VARCHAR(255),
    waiting         BOOLEAN,
    awaited         BOOLEAN,
    owner           INTEGER REFERENCES users (id) NOT NULL,
    method          TEXT,
    request         TEXT,
    result          TEXT,
    eta             INTEGER,
    arch            VARCHAR(16) NOT NULL,
    priority        INTEGER,
    weight          FLOAT CHECK (NOT weight < 0) NOT NULL DEFAULT 1.0,
    CONSTRAINT parent_label_sane CHECK (parent IS NOT NULL OR label IS NULL),
    UNIQUE (parent, label)
);

CREATE INDEX task_by_state ON task (state);
CREATE INDEX task_by_host ON task (host_id);
CREATE INDEX task_by_no_parent_state_method ON task (parent, state, method)
    WHERE parent IS NULL;


------------------------------------------------------------------------
-- packages and builds

-- a package is a source package name
CREATE TABLE package (
    id      SERIAL NOT NULL PRIMARY KEY,
    name    TEXT UNIQUE NOT NULL
);

CREATE TABLE volume (
    id      SERIAL NOT NULL PRIMARY KEY,
    name    TEXT UNIQUE NOT NULL
);

-- volume 0 is the main one; its id is given, the sequence stays at 1
INSERT INTO volume (id, name) VALUES (0, 'DEFAULT');

CREATE TABLE content_generator (
    id      SERIAL PRIMARY KEY,
    name    TEXT UNIQUE NOT NULL
);

-- N-V-R is unique whatever the epoch; task_id may point to a deleted task.
-- A draft build's release ends in ",draft_<id>".
CREATE TABLE build (
    id              SERIAL NOT NULL PRIMARY KEY,
    volume_id       INTEGER NOT NULL REFERENCES volume (id),
    pkg_id          INTEGER NOT NULL REFERENCES package (id) DEFERRABLE,
    version         TEXT NOT NULL,
    release         TEXT NOT NULL,
    epoch           INTEGER,
    draft           BOOLEAN NOT NULL DEFAULT 'false',
    source          TEXT,
    create_event    INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    start_time      TIMESTAMPTZ,
    completion_time TIMESTAMPTZ,
    promotion_time  TIMESTAMPTZ,
    state           INTEGER NOT NULL,
    task_id         INTEGER REFERENCES task (id),
    owner           INTEGER NOT NULL REFERENCES users (id),
    promoter        INTEGER REFERENCES users (id),
    cg_id           INTEGER REFERENCES content_generator (id),
    extra           TEXT,
    CONSTRAINT build_pkg_ver_rel UNIQUE (pkg_id, version, release),
    -- the target of rpminfo's (build_id, draft) foreign key
    CONSTRAINT draft_for_rpminfo UNIQUE (id, draft),
    CONSTRAINT completion_sane CHECK (
        (state = 0 AND completion_time IS NULL)
        OR (state <> 0 AND completion_time IS NOT NULL)),
    CONSTRAINT promotion_sane CHECK (NOT draft OR (promotion_time IS NULL AND promoter IS NULL)),
    CONSTRAINT draft_release_sane CHECK (NOT draft OR release ~ ('^.*,draft_' || id::TEXT || '$'))
);

CREATE INDEX build_by_pkg_id ON build (pkg_id);
CREATE INDEX build_completion ON build (completion_time);

CREATE TABLE btype (
    id      SERIAL NOT NULL PRIMARY KEY,
    name    TEXT UNIQUE NOT NULL
);

INSERT INTO btype (name) VALUES
    ('rpm'),
    ('maven'),
    ('win'),
    ('image');

CREATE TABLE build_types (
    build_id    INTEGER NOT NULL REFERENCES build (id),
    btype_id    INTEGER NOT NULL REFERENCES btype (id),
    PRIMARY KEY (build_id, btype_id)
);


------------------------------------------------------------------------
-- tags

CREATE TABLE tag (
    id      SERIAL NOT NULL PRIMARY KEY,
    name    TEXT UNIQUE NOT NULL
);

CREATE TABLE tag_inheritance (
    tag_id          INTEGER NOT NULL REFERENCES tag (id),
    parent_id       INTEGER NOT NULL REFERENCES tag (id),
    priority        INTEGER NOT NULL,
    maxdepth        INTEGER,
    intransitive    BOOLEAN NOT NULL DEFAULT 'false',
    noconfig        BOOLEAN NOT NULL DEFAULT 'false',
    pkg_filter      TEXT,
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, tag_id, priority),
    UNIQUE (tag_id, priority, active),
    UNIQUE (tag_id, parent_id, active)
);

CREATE INDEX tag_inheritance_by_parent ON tag_inheritance (parent_id);

-- perm_id: the permission needed to tag into this tag (NULL: none)
CREATE TABLE tag_config (
    tag_id              INTEGER NOT NULL REFERENCES tag (id),
    arches              TEXT,
    perm_id             INTEGER REFERENCES permissions (id),
    locked              BOOLEAN NOT NULL DEFAULT 'false',
    maven_support       BOOLEAN NOT NULL DEFAULT FALSE,
    maven_include_all   BOOLEAN NOT NULL DEFAULT FALSE,
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, tag_id),
    UNIQUE (tag_id, active)
);

CREATE TABLE tag_extra (
    tag_id      INTEGER NOT NULL REFERENCES tag (id),
    key         TEXT NOT NULL,
    value       TEXT,
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, tag_id, key),
    UNIQUE (tag_id, key, active)
);

-- changes that matter to a tag's content but live in no versioned table
-- (a build moved to another volume, new RPMs in an existing build, ...)
CREATE TABLE tag_updates (
    id              SERIAL NOT NULL PRIMARY KEY,
    tag_id          INTEGER NOT NULL REFERENCES tag (id),
    update_event    INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    updater_id      INTEGER NOT NULL REFERENCES users (id),
    update_type     INTEGER NOT NULL
);

CREATE INDEX tag_updates_by_tag ON tag_updates (tag_id);
CREATE INDEX tag_updates_by_event ON tag_updates (update_event);

CREATE TABLE build_target (
    id      SERIAL NOT NULL PRIMARY KEY,
    name    TEXT UNIQUE NOT NULL
);

CREATE TABLE build_target_config (
    build_target_id INTEGER NOT NULL REFERENCES build_target (id),
    build_tag       INTEGER NOT NULL REFERENCES tag (id),
    dest_tag        INTEGER NOT NULL REFERENCES tag (id),
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, build_target_id),
    UNIQUE (build_target_id, active)
);


------------------------------------------------------------------------
-- repos

-- creation_time: when the row was made; create_event: the event the repo
-- shows (it may be older). begin_event/end_event bound the events at which
-- the tag's content equals the repo's.
CREATE TABLE repo (
    id              SERIAL NOT NULL PRIMARY KEY,
    creation_time   TIMESTAMPTZ DEFAULT NOW(),
    create_event    INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    state_time      TIMESTAMPTZ DEFAULT NOW(),
    begin_event     INTEGER REFERENCES events (id),
    end_event       INTEGER REFERENCES events (id),
    tag_id          INTEGER NOT NULL REFERENCES tag (id),
    state           INTEGER,
    dist            BOOLEAN DEFAULT 'false',
    opts            JSONB,
    custom_opts     JSONB,
    task_id         INTEGER REFERENCES task (id)
);

-- requests for new repos; at_event/min_event/opts never change once set
CREATE TABLE repo_queue (
    id          SERIAL NOT NULL PRIMARY KEY,
    create_time TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    owner       INTEGER REFERENCES users (id) NOT NULL,
    priority    INTEGER NOT NULL,
    tag_id      INTEGER NOT NULL REFERENCES tag (id),
    at_event    INTEGER REFERENCES events (id),
    min_event   INTEGER REFERENCES events (id),
    opts        JSONB NOT NULL,
    update_time TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    task_id     INTEGER REFERENCES task (id),
    tries       INTEGER NOT NULL DEFAULT 0,
    repo_id     INTEGER REFERENCES repo (id),
    CONSTRAINT only_one_event CHECK (at_event IS NULL OR min_event IS NULL),
    -- an active request has no repo yet
    CONSTRAINT active_sane CHECK (NOT active OR repo_id IS NULL)
);

CREATE TABLE external_repo (
    id      SERIAL NOT NULL PRIMARY KEY,
    name    TEXT UNIQUE NOT NULL
);

-- external repo 0 stands for "our own builds" in rpminfo
INSERT INTO external_repo (id, name) VALUES (0, 'INTERNAL');

CREATE TABLE external_repo_config (
    external_repo_id INTEGER NOT NULL REFERENCES external_repo (id),
    url         TEXT NOT NULL,
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, external_repo_id),
    UNIQUE (external_repo_id, active)
);

-- what the repo regenerator last saw of an external repo
CREATE TABLE external_repo_data (
    external_repo_id INTEGER NOT NULL REFERENCES external_repo (id),
    data        JSONB,
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, external_repo_id),
    UNIQUE (external_repo_id, active)
);

CREATE TABLE tag_external_repos (
    tag_id              INTEGER NOT NULL REFERENCES tag (id),
    external_repo_id    INTEGER NOT NULL REFERENCES external_repo (id),
    priority            INTEGER NOT NULL,
    merge_mode          TEXT NOT NULL DEFAULT 'koji',
    arches              TEXT,
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, tag_id, priority),
    UNIQUE (tag_id, priority, active),
    UNIQUE (tag_id, external_repo_id, active)
);


------------------------------------------------------------------------
-- content generators, reservations, buildroots

CREATE TABLE cg_users (
    cg_id       INTEGER NOT NULL REFERENCES content_generator (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, cg_id, user_id),
    UNIQUE (cg_id, user_id, active)
);

CREATE TABLE build_reservations (
    build_id    INTEGER NOT NULL REFERENCES build (id),
    token       VARCHAR(64),
    created     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (build_id)
);

CREATE INDEX build_reservations_created ON build_reservations (created);

CREATE TABLE buildroot (
    id              SERIAL NOT NULL PRIMARY KEY,
    br_type         INTEGER NOT NULL,
    cg_id           INTEGER REFERENCES content_generator (id),
    cg_version      TEXT,
    container_type  TEXT,
    container_arch  TEXT,
    host_os         TEXT,
    host_arch       TEXT,
    extra           TEXT,
    CONSTRAINT cg_sane CHECK (
        (cg_id IS NULL AND cg_version IS NULL)
        OR (cg_id IS NOT NULL AND cg_version IS NOT NULL)),
    CONSTRAINT container_sane CHECK (
        (container_type IS NULL AND container_arch IS NULL)
        OR (container_type IS NOT NULL AND container_arch IS NOT NULL))
);

CREATE TABLE standard_buildroot (
    buildroot_id    INTEGER NOT NULL PRIMARY KEY REFERENCES buildroot (id),
    host_id         INTEGER NOT NULL REFERENCES host (id),
    repo_id         INTEGER NOT NULL REFERENCES repo (id),
    task_id         INTEGER NOT NULL REFERENCES task (id),
    create_event    INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    retire_event    INTEGER,
    state           INTEGER
);

CREATE TABLE buildroot_tools_info (
    buildroot_id    INTEGER NOT NULL REFERENCES buildroot (id),
    tool            TEXT NOT NULL,
    version         TEXT NOT NULL,
    PRIMARY KEY (buildroot_id, tool)
);

CREATE TABLE image_builds (
    build_id    INTEGER NOT NULL PRIMARY KEY REFERENCES build (id)
);


------------------------------------------------------------------------
-- tag content: builds, packages, groups

CREATE TABLE tag_listing (
    build_id    INTEGER NOT NULL REFERENCES build (id),
    tag_id      INTEGER NOT NULL REFERENCES tag (id),
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, build_id, tag_id),
    UNIQUE (build_id, tag_id, active)
);

CREATE INDEX tag_listing_tag_id_key ON tag_listing (tag_id);

-- the packages allowed in a tag; blocked hides a package from the tag and
-- from the tags inheriting it
CREATE TABLE tag_packages (
    package_id      INTEGER NOT NULL REFERENCES package (id),
    tag_id          INTEGER NOT NULL REFERENCES tag (id),
    blocked         BOOLEAN NOT NULL DEFAULT FALSE,
    extra_arches    TEXT,
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, package_id, tag_id),
    UNIQUE (package_id, tag_id, active)
);

CREATE INDEX tag_packages_active_tag_id ON tag_packages (active, tag_id);
CREATE INDEX tag_packages_create_event ON tag_packages (create_event);
CREATE INDEX tag_packages_revoke_event ON tag_packages (revoke_event);

CREATE TABLE tag_package_owners (
    package_id  INTEGER NOT NULL REFERENCES package (id),
    tag_id      INTEGER NOT NULL REFERENCES tag (id),
    owner       INTEGER NOT NULL REFERENCES users (id),
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, package_id, tag_id),
    UNIQUE (package_id, tag_id, active)
);

-- comps groups; name is the comps group id
CREATE TABLE groups (
    id      SERIAL NOT NULL PRIMARY KEY,
    name    VARCHAR(50) UNIQUE NOT NULL
);

CREATE TABLE group_config (
    group_id        INTEGER NOT NULL REFERENCES groups (id),
    tag_id          INTEGER NOT NULL REFERENCES tag (id),
    blocked         BOOLEAN NOT NULL DEFAULT FALSE,
    exported        BOOLEAN DEFAULT TRUE,
    display_name    TEXT NOT NULL,
    is_default      BOOLEAN,
    uservisible     BOOLEAN,
    description     TEXT,
    langonly        TEXT,
    biarchonly      BOOLEAN,
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, group_id, tag_id),
    UNIQUE (group_id, tag_id, active)
);

CREATE TABLE group_req_listing (
    group_id    INTEGER NOT NULL REFERENCES groups (id),
    tag_id      INTEGER NOT NULL REFERENCES tag (id),
    req_id      INTEGER NOT NULL REFERENCES groups (id),
    blocked     BOOLEAN NOT NULL DEFAULT FALSE,
    type        VARCHAR(25),
    is_metapkg  BOOLEAN NOT NULL DEFAULT FALSE,
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, group_id, tag_id, req_id),
    UNIQUE (group_id, tag_id, req_id, active)
);

-- package is a binary RPM name, hence no reference to the package table
CREATE TABLE group_package_listing (
    group_id        INTEGER NOT NULL REFERENCES groups (id),
    tag_id          INTEGER NOT NULL REFERENCES tag (id),
    package         TEXT,
    blocked         BOOLEAN NOT NULL DEFAULT FALSE,
    type            VARCHAR(25) NOT NULL,
    basearchonly    BOOLEAN,
    requires        TEXT,
    create_event INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),
    revoke_event INTEGER REFERENCES events (id),
    creator_id  INTEGER NOT NULL REFERENCES users (id),
    revoker_id  INTEGER REFERENCES users (id),
    active      BOOLEAN DEFAULT 'true' CHECK (active),
    CONSTRAINT active_revoke_sane CHECK (
        (active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
        OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
    PRIMARY KEY (create_event, group_id, tag_id, package),
    UNIQUE (group_id, tag_id, package, active)
);


------------------------------------------------------------------------
-- rpms

-- one row per RPM (binary or source). Build RPMs have build_id, draft and
-- external_repo_id 0; RPMs of external repos have none of the first two.
-- The file name is always N-V-R.A.rpm.
CREATE TABLE rpminfo (
    id                  SERIAL NOT NULL PRIMARY KEY,
    build_id            INTEGER,
    buildroot_id        INTEGER REFERENCES buildroot (id),
    name                TEXT NOT NULL,
    version             TEXT NOT NULL,
    release             TEXT NOT NULL,
    epoch               INTEGER,
    arch                VARCHAR(16) NOT NULL,
    draft               BOOLEAN,
    external_repo_id    INTEGER NOT NULL REFERENCES external_repo (id),
    payloadhash         TEXT NOT NULL,
    size                BIGINT NOT NULL,
    buildtime           BIGINT NOT NULL,
    metadata_only       BOOLEAN NOT NULL DEFAULT FALSE,
    extra               TEXT,
    -- keeps draft equal to the build's
    FOREIGN KEY (build_id, draft) REFERENCES build (id, draft) ON UPDATE CASCADE,
    CONSTRAINT build_id_draft_external_repo_id_sane CHECK (
        (draft IS NULL AND build_id IS NULL AND external_repo_id <> 0)
        OR (draft IS NOT NULL AND build_id IS NOT NULL AND external_repo_id = 0))
);

CREATE INDEX rpminfo_build ON rpminfo (build_id);
CREATE UNIQUE INDEX rpminfo_unique_nvra_not_draft
    ON rpminfo (name, version, release, arch, external_repo_id)
    WHERE draft IS NOT TRUE;
CREATE INDEX rpminfo_nvra ON rpminfo (name, version, release, arch, external_repo_id);
-- lookups by file name (PostgreSQL 11 or later, for INCLUDE)
CREATE INDEX rpminfo_filename
    ON rpminfo ((name || '-' || version || '-' || release || '.' || arch || '.rpm'))
    INCLUDE (id);

-- sighash: checksum of the signature header
CREATE TABLE rpmsigs (
    rpm_id      INTEGER NOT NULL REFERENCES rpminfo (id),
    sigkey      TEXT NOT NULL,
    sighash     TEXT NOT NULL,
    CONSTRAINT rpmsigs_no_resign UNIQUE (rpm_id, sigkey)
);

CREATE TABLE buildroot_listing (
    buildroot_id    INTEGER NOT NULL REFERENCES buildroot (id),
    rpm_id          INTEGER NOT NULL REFERENCES rpminfo (id),
    is_update       BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (buildroot_id, rpm_id)
);

CREATE INDEX buildroot_listing_rpms ON buildroot_listing (rpm_id);


------------------------------------------------------------------------
-- notifications

CREATE TABLE build_notifications (
    id              SERIAL NOT NULL PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    package_id      INTEGER REFERENCES package (id),
    tag_id          INTEGER REFERENCES tag (id),
    success_only    BOOLEAN NOT NULL DEFAULT FALSE,
    email           TEXT NOT NULL
);

CREATE TABLE build_notifications_block (
    id          SERIAL NOT NULL PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    package_id  INTEGER REFERENCES package (id),
    tag_id      INTEGER REFERENCES tag (id)
);

-- read access for every role, as upstream grants it
GRANT SELECT ON build, package, task, tag, tag_listing, tag_config, tag_inheritance,
    tag_packages, rpminfo TO PUBLIC;


------------------------------------------------------------------------
-- maven, windows and image builds; archives

CREATE TABLE maven_builds (
    build_id    INTEGER NOT NULL PRIMARY KEY REFERENCES build (id),
    group_id    TEXT NOT NULL,
    artifact_id TEXT NOT NULL,
    version     TEXT NOT NULL
);

CREATE TABLE win_builds (
    build_id    INTEGER NOT NULL PRIMARY KEY REFERENCES build (id),
    platform    TEXT NOT NULL
);

-- the kinds of files a build may output besides RPMs
CREATE TABLE archivetypes (
    id                  SERIAL NOT NULL PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    description         TEXT NOT NULL,
    extensions          TEXT NOT NULL,
    compression_type    TEXT
);

INSERT INTO archivetypes (name, description, extensions, compression_type) VALUES
    ('jar', 'Jar file', 'jar war rar ear sar jdocbook jdocbook-style', 'zip'),
    ('zip', 'Zip file', 'zip', 'zip'),
    ('pom', 'Maven Project Object Management file', 'pom', NULL),
    ('tar', 'Tar file', 'tar tar.gz tar.bz2 tar.xz tgz', 'tar'),
    ('xml', 'XML file', 'xml', NULL),
    ('xmlcompressed', 'Compressed XML file', 'xml.gz xml.bz2 xml.xz', NULL),
    ('xsd', 'XML Schema Definition', 'xsd', NULL),
    ('spec', 'RPM spec file', 'spec', NULL),
    ('exe', 'Windows executable', 'exe', NULL),
    ('dll', 'Windows dynamic link library', 'dll', NULL),
    ('lib', 'Windows import library', 'lib', NULL),
    ('sys', 'Windows device driver', 'sys', NULL),
    ('inf', 'Windows driver information file', 'inf', NULL),
    ('cat', 'Windows catalog file', 'cat', NULL),
    ('msi', 'Windows Installer package', 'msi', NULL),
    ('pdb', 'Windows debug information', 'pdb', NULL),
    ('oem', 'Windows driver oem file', 'oem', NULL),
    ('iso', 'CD/DVD Image', 'iso', NULL),
    ('raw', 'Raw disk image', 'raw', NULL),
    ('qcow', 'QCOW image', 'qcow', NULL),
    ('qcow2', 'QCOW2 image', 'qcow2', NULL),
    ('vmdk', 'vSphere image', 'vmdk', NULL),
    ('ova', 'Open Virtualization Archive', 'ova', NULL),
    ('ks', 'Kickstart', 'ks', NULL),
    ('cfg', 'Configuration file', 'cfg', NULL),
    ('vdi', 'VirtualBox Virtual Disk Image', 'vdi', NULL),
    ('aar', 'Binary distribution of an Android Library project', 'aar', NULL),
    ('apklib', 'Source distribution of an Android Library project', 'apklib', NULL),
    ('cab', 'Windows cabinet file', 'cab', NULL),
    ('dylib', 'OS X dynamic library', 'dylib', NULL),
    ('gem', 'Ruby gem', 'gem', NULL),
    ('ini', 'INI config file', 'ini', NULL),
    ('js', 'Javascript file', 'js', NULL),
    ('ldif', 'LDAP Data Interchange Format file', 'ldif', NULL),
    ('manifest', 'Runtime environment for .NET applications', 'manifest', NULL),
    ('msm', 'Windows merge module', 'msm', NULL),
    ('properties', 'Properties file', 'properties', NULL),
    ('sig', 'Signature file', 'sig signature', NULL),
    ('so', 'Shared library', 'so', NULL),
    ('txt', 'Text file', 'txt', NULL),
    ('vhd', 'Hyper-V image', 'vhd', NULL),
    ('vhdx', 'Hyper-V Virtual Hard Disk v2 image', 'vhdx', NULL),
    ('wsf', 'Windows script file', 'wsf', NULL),
    ('box', 'Vagrant Box Image', 'box', NULL),
    ('raw-xz', 'xz compressed raw disk image', 'raw.xz', NULL),
    ('json', 'JSON data', 'json', NULL),
    ('key', 'Key file', 'key', NULL),
    ('dot', 'DOT graph description', 'dot gv', NULL),
    ('groovy', 'Groovy script file', 'groovy gvy', NULL),
    ('batch', 'Batch file', 'bat', NULL),
    ('shell', 'Shell script', 'sh', NULL),
    ('rc', 'Resource file', 'rc', NULL),
    ('wsdl', 'Web Services Description Language', 'wsdl', NULL),
    ('obr', 'OSGi Bundle Repository', 'obr', NULL),
    ('liveimg-squashfs', 'liveimg compatible squashfs image', 'liveimg.squashfs', NULL),
    ('tlb', 'OLE type library file', 'tlb', NULL),
    ('jnilib', 'Java Native Interface library', 'jnilib', NULL),
    ('yaml', 'YAML Ain''t Markup Language', 'yaml yml', NULL),
    ('xjb', 'JAXB(Java Architecture for XML Binding) Binding Customization File', 'xjb', NULL),
    ('raw-gz', 'GZIP compressed raw disk image', 'raw.gz', NULL),
    ('qcow2-compressed', 'Compressed QCOW2 image', 'qcow2.gz qcow2.xz', NULL),
    ('iso-compressed', 'Compressed iso image', 'iso.gz iso.xz', NULL),
    ('vhd-compressed', 'Compressed VHD image', 'vhd.gz vhd.xz', NULL),
    ('vhdx-compressed', 'Compressed VHDx image', 'vhdx.gz vhdx.xz', NULL),
    ('vmdk-compressed', 'Compressed VMDK image', 'vmdk.gz vmdk.xz', NULL),
    ('kernel-image', 'Kernel BZ2 Image', 'vmlinuz vmlinuz.gz vmlinuz.xz', NULL),
    ('initramfs', 'Compressed Initramfs Image', 'img', NULL),
    ('checksum', 'Checksum file', 'sha256', NULL),
    ('changes', 'Kiwi changes file', 'changes.xz changes', NULL),
    ('packages', 'Kiwi packages listing', 'packages', NULL),
    ('verified', 'Kiwi verified package list', 'verified', NULL);

CREATE TABLE archiveinfo (
    id              SERIAL NOT NULL PRIMARY KEY,
    type_id         INTEGER NOT NULL REFERENCES archivetypes (id),
    btype_id        INTEGER REFERENCES btype (id),
    build_id        INTEGER NOT NULL REFERENCES build (id),
    buildroot_id    INTEGER REFERENCES buildroot (id),
    filename        TEXT NOT NULL,
    size            BIGINT NOT NULL,
    checksum        TEXT NOT NULL,
    checksum_type   INTEGER NOT NULL,
    metadata_only   BOOLEAN NOT NULL DEFAULT FALSE,
    extra           TEXT
);

CREATE INDEX archiveinfo_build_idx ON archiveinfo (build_id);
CREATE INDEX archiveinfo_buildroot_idx ON archiveinfo (buildroot_id);
CREATE INDEX archiveinfo_type_idx ON archiveinfo (type_id);
CREATE INDEX archiveinfo_filename_idx ON archiveinfo (filename);

CREATE TABLE maven_archives (
    archive_id  INTEGER NOT NULL PRIMARY KEY REFERENCES archiveinfo (id),
    group_id    TEXT NOT NULL,
    artifact_id TEXT NOT NULL,
    version     TEXT NOT NULL
);

CREATE TABLE image_archives (
    archive_id  INTEGER NOT NULL PRIMARY KEY REFERENCES archiveinfo (id),
    arch        VARCHAR(16) NOT NULL
);

-- the RPMs contained in an archive (an image, say)
CREATE TABLE archive_rpm_components (
    archive_id  INTEGER NOT NULL REFERENCES archiveinfo (id),
    rpm_id      INTEGER NOT NULL REFERENCES rpminfo (id),
    UNIQUE (archive_id, rpm_id)
);

CREATE INDEX rpm_components_idx ON archive_rpm_components (rpm_id);

-- the archives contained in an archive
CREATE TABLE archive_components (
    archive_id      INTEGER NOT NULL REFERENCES archiveinfo (id),
    component_id    INTEGER NOT NULL REFERENCES archiveinfo (id),
    UNIQUE (archive_id, component_id)
);

CREATE INDEX archive_components_idx ON archive_components (component_id);

CREATE TABLE buildroot_archives (
    buildroot_id    INTEGER NOT NULL REFERENCES buildroot (id),
    archive_id      INTEGER NOT NULL REFERENCES archiveinfo (id),
    project_dep     BOOLEAN NOT NULL,
    PRIMARY KEY (buildroot_id, archive_id)
);

CREATE INDEX buildroot_archives_archive_idx ON buildroot_archives (archive_id);

CREATE TABLE win_archives (
    archive_id  INTEGER NOT NULL PRIMARY KEY REFERENCES archiveinfo (id),
    relpath     TEXT NOT NULL,
    platforms   TEXT NOT NULL,
    flags       TEXT
);


------------------------------------------------------------------------
-- plugins' and services' tables

-- outgoing messages of the protonmsg plugin
CREATE TABLE proton_queue (
    id          SERIAL PRIMARY KEY,
    created_ts  TIMESTAMPTZ DEFAULT NOW(),
    address     TEXT NOT NULL,
    props       JSON NOT NULL,
    body        JSON NOT NULL
);

CREATE TABLE rpm_checksum (
    rpm_id          INTEGER NOT NULL REFERENCES rpminfo (id),
    sigkey          TEXT NOT NULL,
    checksum        TEXT NOT NULL UNIQUE,
    checksum_type   SMALLINT NOT NULL,
    PRIMARY KEY (rpm_id, sigkey, checksum_type)
);

CREATE INDEX rpm_checksum_rpm_id ON rpm_checksum (rpm_id);


------------------------------------------------------------------------
-- task scheduler

CREATE TABLE scheduler_task_runs (
    id          SERIAL NOT NULL PRIMARY KEY,
    task_id     INTEGER REFERENCES task (id) NOT NULL,
    host_id     INTEGER REFERENCES host (id) NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    create_time TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX scheduler_task_runs_task ON scheduler_task_runs (task_id);
CREATE INDEX scheduler_task_runs_host ON scheduler_task_runs (host_id);
CREATE INDEX scheduler_task_runs_create_time ON scheduler_task_runs (create_time);

CREATE TABLE scheduler_host_data (
    host_id     INTEGER REFERENCES host (id) PRIMARY KEY,
    data        JSONB
);

CREATE TABLE scheduler_sys_data (
    name        TEXT NOT NULL PRIMARY KEY,
    data        JSONB
);

CREATE TABLE scheduler_task_refusals (
    id          SERIAL NOT NULL PRIMARY KEY,
    task_id     INTEGER REFERENCES task (id) NOT NULL,
    host_id     INTEGER REFERENCES host (id) NOT NULL,
    by_host     BOOLEAN NOT NULL,
    soft        BOOLEAN NOT NULL DEFAULT FALSE,
    msg         TEXT,
    time        TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    UNIQUE (task_id, host_id)
);

CREATE TABLE scheduler_log_messages (
    id          SERIAL NOT NULL PRIMARY KEY,
    task_id     INTEGER REFERENCES task (id),
    host_id     INTEGER REFERENCES host (id),
    msg_time    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    msg         TEXT NOT NULL
);


------------------------------------------------------------------------
-- named locks: a service holds one by locking its row

CREATE TABLE locks (
    name    TEXT NOT NULL PRIMARY KEY
);

INSERT INTO locks (name) VALUES
    ('protonmsg-plugin'),
    ('scheduler'),
    ('repo-queue');
