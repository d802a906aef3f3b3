-- The personal journal.db of hemgate 0.1 (schema version 1, written by main at fd2054e), as
-- `sqlite3 journal.db .dump` gives it; .dump leaves out the schema version, added at the end.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE meta (  key TEXT PRIMARY KEY NOT NULL,  value TEXT NOT NULL);
INSERT INTO meta VALUES('domain','personal');
INSERT INTO meta VALUES('state','closed');
CREATE TABLE events (  seq INTEGER PRIMARY KEY AUTOINCREMENT,  type TEXT NOT NULL,  ts INTEGER NOT NULL,  source TEXT,  body TEXT NOT NULL,  alarm_ref TEXT);
INSERT INTO events VALUES(1,'sensor.reading',1796602229618052,'plugin:mqtt-sensors','{"device":"bedroom","kind":"temperature","value":20.5}',NULL);
INSERT INTO events VALUES(2,'sensor.reading',1796602229654210,'plugin:mqtt-sensors','{"device":"kitchen","kind":"temperature","value":21.5}',NULL);
INSERT INTO events VALUES(3,'sensor.reading',1796602229661835,'plugin:mqtt-sensors','{"device":"bedroom","kind":"temperature","value":22.5}',NULL);
INSERT INTO events VALUES(4,'sensor.reading',1796602229662181,'plugin:mqtt-sensors','{"device":"kitchen","kind":"temperature","value":23.5}',NULL);
INSERT INTO events VALUES(5,'alarm.raised',1796602229662424,'plugin:mqtt-sensors','{"ref":"al-0003-smoke","type":"fire","state":"raised","source":"plugin:mqtt-sensors","device":"kitchen","location":"kitchen","priority":9}','al-0003-smoke');
INSERT INTO events VALUES(6,'alarm.cancelled',1796602229662761,'plugin:mqtt-sensors','{"ref":"al-0003-smoke","type":"fire","state":"cancelled","source":"plugin:mqtt-sensors","device":"kitchen","location":"kitchen","priority":9}','al-0003-smoke');
INSERT INTO events VALUES(7,'device.seen',1796602229663066,NULL,'{"device":"kitchen"}',NULL);
CREATE TABLE alarms (  ref TEXT PRIMARY KEY NOT NULL,  type TEXT NOT NULL,  state TEXT NOT NULL,  source TEXT,  device TEXT,  location TEXT,  priority INTEGER NOT NULL DEFAULT 0,  detail TEXT,  raised_seq INTEGER NOT NULL,  raised_ts INTEGER NOT NULL,  updated_ts INTEGER NOT NULL);
INSERT INTO alarms VALUES('al-0003-smoke','fire','cancelled','plugin:mqtt-sensors','kitchen','kitchen',9,NULL,5,1796602229662424,1796602229662761);
CREATE TABLE idempotency_keys (  scope TEXT NOT NULL,  key TEXT NOT NULL,  fingerprint TEXT NOT NULL,  alarm_ref TEXT NOT NULL,  ts INTEGER NOT NULL,  PRIMARY KEY (scope, key)) WITHOUT ROWID;
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('events',7);
CREATE INDEX events_by_type ON events (type, ts);
CREATE INDEX events_by_alarm ON events (alarm_ref) WHERE alarm_ref IS NOT NULL;
CREATE INDEX alarms_by_state ON alarms (state);
CREATE INDEX events_by_reading_device ON events (json_extract(body, '$.device'), ts) WHERE type = 'sensor.reading';
CREATE INDEX events_by_reading_kind ON events (json_extract(body, '$.device'), json_extract(body, '$.kind'), ts) WHERE type = 'sensor.reading';
CREATE INDEX idempotency_keys_by_ts ON idempotency_keys (ts);
COMMIT;
PRAGMA user_version = 1;
