-- The municipal accounts.db of hemgate 0.1 (schema version 1, written by main at fd2054e), as
-- `sqlite3 accounts.db .dump` gives it; .dump leaves out the schema version, added at the end.
-- Passwords: anna 'correct horse battery 1', it.admin 'correct horse battery 2'; the
-- session is anna's, token jc1T1YiDLbFTr3m8s_KiSVfAwdQXUG7cEGsOitecHMc.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE users (  username TEXT PRIMARY KEY NOT NULL,  role TEXT NOT NULL,  hash TEXT NOT NULL,  created INTEGER NOT NULL);
INSERT INTO users VALUES('anna','staff','$argon2id$v=19$m=65536,t=2,p=1$xfZhNbuBnq39ImNWpS6/Mw$n6UJg/hY7WHQcIflKZ91mlbfcJAfYhPle8bzp/wwxYg',1796602230092946);
INSERT INTO users VALUES('it.admin','it-admin','$argon2id$v=19$m=65536,t=2,p=1$Y4LX8LiGkRMe1a7nj/mK0w$/iSb37pr2ZCCFO+1LMoa7X+LKDE+RDEGhk4iChf3luM',1796602230596524);
CREATE TABLE sessions (  id TEXT PRIMARY KEY NOT NULL,  username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,  role TEXT NOT NULL,  expires INTEGER NOT NULL,  revoked INTEGER NOT NULL DEFAULT 0);
INSERT INTO sessions VALUES('a3690ddc18136e0555d04a590c4ecd3b96d31769081b0c8380e04576e9f5db0b','anna','staff',3373402231816605,0);
CREATE INDEX sessions_username ON sessions (username);
COMMIT;
PRAGMA user_version = 1;
