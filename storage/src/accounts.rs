//! Accounts: users, devices and device tokens.
//!
//! These writes are rare (sign-up, login, logout), so they skip the group committer: each is
//! a check-and-insert under one internal mutex followed by a synchronous, fsynced write —
//! simple to reason about, and an account that was confirmed to a client always exists.

use rocksdb::WriteBatch;

use crate::codec;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::schema::{CF_DEVICES, CF_TOKENS, CF_USERNAMES, CF_USERS, CF_USER_DEVICES};
use crate::store::{cf, for_each, for_each_with_prefix, lock, Store};
use crate::types::{DeviceRecord, UserRecord};

impl Store {
    /// Creates an account with a fresh id. Fails with [`StoreError::UsernameTaken`] if the
    /// username exists (compared byte-for-byte; normalisation is the engine's job). The
    /// record and its username index are written atomically and fsynced before returning.
    pub fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<UserRecord> {
        self.check_writable()?;
        let db = self.db()?;
        let _guard = lock(&self.inner.accounts);
        let names = cf(&db, CF_USERNAMES)?;
        if db
            .get_pinned_cf(names, keys::username_key(username))?
            .is_some()
        {
            return Err(StoreError::UsernameTaken);
        }
        let user_id = self.allocate_ids(1)?.start;
        let rec = UserRecord {
            user_id,
            username: username.to_owned(),
            password_hash: password_hash.to_owned(),
            created_ms: now_ms,
        };
        let mut batch = WriteBatch::default();
        batch.put_cf(
            cf(&db, CF_USERS)?,
            keys::id_key(user_id),
            codec::encode_user(&rec),
        );
        batch.put_cf(
            names,
            keys::username_key(username),
            codec::encode_u64_value(user_id),
        );
        self.sync_write(&db, batch)?;
        Ok(rec)
    }

    /// Looks a user up by exact username.
    pub fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>> {
        let db = self.db()?;
        let Some(v) = db.get_pinned_cf(cf(&db, CF_USERNAMES)?, keys::username_key(username))?
        else {
            return Ok(None);
        };
        let user_id = codec::decode_u64_value(&v, "username index")?;
        match self.user_by_id(user_id)? {
            Some(u) => Ok(Some(u)),
            None => Err(StoreError::Corrupt(format!(
                "username index points to missing user {user_id}"
            ))),
        }
    }

    /// Looks a user up by id.
    pub fn user_by_id(&self, user_id: u64) -> Result<Option<UserRecord>> {
        self.get_with(CF_USERS, keys::id_key(user_id), |v| {
            Ok(codec::decode_user(v)?)
        })
    }

    /// Every account, by ascending id.
    pub fn list_users(&self) -> Result<Vec<UserRecord>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for_each(&db, cf(&db, CF_USERS)?, |_, v| {
            out.push(codec::decode_user(v)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Registers a device of `user_id` with a fresh id. Only the token's hash is stored.
    /// Fails with [`StoreError::UnknownUser`] if the user does not exist and with
    /// [`StoreError::TokenTaken`] if the hash is already registered. Fsynced before returning.
    pub fn create_device(
        &self,
        user_id: u64,
        name: &str,
        token_hash: [u8; 32],
        now_ms: i64,
    ) -> Result<DeviceRecord> {
        self.check_writable()?;
        let db = self.db()?;
        let _guard = lock(&self.inner.accounts);
        if db
            .get_pinned_cf(cf(&db, CF_USERS)?, keys::id_key(user_id))?
            .is_none()
        {
            return Err(StoreError::UnknownUser(user_id));
        }
        let tokens = cf(&db, CF_TOKENS)?;
        if db
            .get_pinned_cf(tokens, keys::token_key(&token_hash))?
            .is_some()
        {
            return Err(StoreError::TokenTaken);
        }
        let device_id = self.allocate_ids(1)?.start;
        let rec = DeviceRecord {
            device_id,
            user_id,
            name: name.to_owned(),
            token_hash,
            created_ms: now_ms,
        };
        let mut batch = WriteBatch::default();
        batch.put_cf(
            cf(&db, CF_DEVICES)?,
            keys::id_key(device_id),
            codec::encode_device(&rec),
        );
        batch.put_cf(
            tokens,
            keys::token_key(&token_hash),
            codec::encode_u64_value(device_id),
        );
        batch.put_cf(
            cf(&db, CF_USER_DEVICES)?,
            keys::user_device_key(user_id, device_id),
            b"",
        );
        self.sync_write(&db, batch)?;
        Ok(rec)
    }

    /// Authenticates a token: the device whose token hashes to `token_hash`, if any.
    pub fn device_by_token_hash(&self, token_hash: &[u8; 32]) -> Result<Option<DeviceRecord>> {
        let db = self.db()?;
        let Some(v) = db.get_pinned_cf(cf(&db, CF_TOKENS)?, keys::token_key(token_hash))? else {
            return Ok(None);
        };
        let device_id = codec::decode_u64_value(&v, "token index")?;
        // `None` here means the device was revoked between the two reads.
        Ok(self
            .device(device_id)?
            .filter(|d| d.token_hash == *token_hash))
    }

    /// Looks a device up by id.
    pub fn device(&self, device_id: u64) -> Result<Option<DeviceRecord>> {
        self.get_with(CF_DEVICES, keys::id_key(device_id), |v| {
            Ok(codec::decode_device(v)?)
        })
    }

    /// The user's devices, by ascending id (via the `user_devices` index, so the cost is
    /// proportional to this user's devices only).
    pub fn list_devices(&self, user_id: u64) -> Result<Vec<DeviceRecord>> {
        let db = self.db()?;
        let mut ids = Vec::new();
        for_each_with_prefix(&db, cf(&db, CF_USER_DEVICES)?, user_id, |k, _| {
            ids.push(keys::decode_user_device_key(k)?.1);
            Ok(())
        })?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            // Skips a device revoked between the index scan and this read.
            if let Some(d) = self.device(id)? {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Revokes (deletes) a device and its token, so the token no longer authenticates.
    /// Returns `false` if `device_id` does not exist or is not `user_id`'s. Fsynced before
    /// returning. Disconnecting the device's live sessions is the engine's job.
    pub fn revoke_device(&self, user_id: u64, device_id: u64) -> Result<bool> {
        self.check_writable()?;
        let db = self.db()?;
        let _guard = lock(&self.inner.accounts);
        let Some(dev) = self.device(device_id)? else {
            return Ok(false);
        };
        if dev.user_id != user_id {
            return Ok(false);
        }
        let tokens = cf(&db, CF_TOKENS)?;
        let mut batch = WriteBatch::default();
        batch.delete_cf(cf(&db, CF_DEVICES)?, keys::id_key(device_id));
        batch.delete_cf(
            cf(&db, CF_USER_DEVICES)?,
            keys::user_device_key(user_id, device_id),
        );
        if let Some(v) = db.get_pinned_cf(tokens, keys::token_key(&dev.token_hash))? {
            if codec::decode_u64_value(&v, "token index")? == device_id {
                batch.delete_cf(tokens, keys::token_key(&dev.token_hash));
            }
        }
        self.sync_write(&db, batch)?;
        Ok(true)
    }
}
