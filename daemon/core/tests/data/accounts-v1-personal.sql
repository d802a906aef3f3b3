-- The personal accounts.db of hemgate 0.1 (schema version 1, written by main at fd2054e), as
-- `sqlite3 accounts.db .dump` gives it; .dump leaves out the schema version, added at the end.
-- Passwords: åsa.öberg 'correct horse battery 3', bertil 'correct horse battery 4'; the
-- session is åsa.öberg's, token KCehOD7vksZIVjI2sF2W3ta6UHU1coEDqOgao5lM1gw.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE users (  username TEXT PRIMARY KEY NOT NULL,  role TEXT NOT NULL,  hash TEXT NOT NULL,  created INTEGER NOT NULL);
INSERT INTO users VALUES('åsa.öberg','resident','$argon2id$v=19$m=65536,t=2,p=1$7eRt6EySmWnqom9xcB0r5Q$WsWMcVHaMt1nT9X+MDT1x4NR6X4eP58ZFHs49al45jE',1796602231028653);
INSERT INTO users VALUES('bertil','family','$argon2id$v=19$m=65536,t=2,p=1$bfrmDtVfOEsFx2GuGZl/PQ$dHrCA8y58MGGmVfeSxsoTBQZS0mj7Yvjg327d85bGsg',1796602231498443);
CREATE TABLE sessions (  id TEXT PRIMARY KEY NOT NULL,  username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,  role TEXT NOT NULL,  expires INTEGER NOT NULL,  revoked INTEGER NOT NULL DEFAULT 0);
INSERT INTO sessions VALUES('6f6230cb4e0e6e325f439a3439e6fc04ec83c6a69ee7e27136cb7d6883511568','åsa.öberg','resident',3373402232045478,0);
CREATE INDEX sessions_username ON sessions (username);
COMMIT;
PRAGMA user_version = 1;
