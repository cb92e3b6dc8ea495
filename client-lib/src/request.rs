//! The requests an app can make, encoded once the connection assigns a request id.

use bytes::Bytes;
use magpie_wire::{encode, fb};

/// The other side of a direct chat: a user id or a username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    Id(u64),
    Username(String),
}

impl From<u64> for Peer {
    fn from(id: u64) -> Self {
        Peer::Id(id)
    }
}

impl From<&str> for Peer {
    fn from(name: &str) -> Self {
        Peer::Username(name.to_owned())
    }
}

impl From<String> for Peer {
    fn from(name: String) -> Self {
        Peer::Username(name)
    }
}

/// Which way a history page reads from `from_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The newest events with `seq < from_seq` (`from_seq` 0 = from the end).
    Backward,
    /// The oldest events with `seq > from_seq`.
    Forward,
}

impl From<Direction> for fb::Direction {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Backward => fb::Direction::Backward,
            Direction::Forward => fb::Direction::Forward,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    Logout,
    ListDevices,
    RevokeDevice { device_id: u64 },
    LookupUser { username: String },
    GetUsers { user_ids: Vec<u64> },
    CreateDirect(Peer),
    CreateGroup { title: String, member_ids: Vec<u64> },
    AddMembers { chat_id: u64, user_ids: Vec<u64> },
    RemoveMember { chat_id: u64, user_id: u64 },
    LeaveChat { chat_id: u64 },
    GetChat { chat_id: u64 },
    ListChats { after_chat_id: u64, limit: u16 },
    History { chat_id: u64, from_seq: u64, direction: Direction, limit: u16 },
    Ping { nonce: u64 },
}

impl Request {
    pub(crate) fn encode(&self, request_id: u64) -> Bytes {
        match self {
            Request::Logout => encode::logout(request_id),
            Request::ListDevices => encode::list_devices(request_id),
            Request::RevokeDevice { device_id } => encode::revoke_device(request_id, *device_id),
            Request::LookupUser { username } => encode::lookup_user(request_id, username),
            Request::GetUsers { user_ids } => encode::get_users(request_id, user_ids),
            Request::CreateDirect(Peer::Id(id)) => encode::create_direct(request_id, *id, ""),
            Request::CreateDirect(Peer::Username(name)) => encode::create_direct(request_id, 0, name),
            Request::CreateGroup { title, member_ids } => encode::create_group(request_id, title, member_ids),
            Request::AddMembers { chat_id, user_ids } => encode::add_members(request_id, *chat_id, user_ids),
            Request::RemoveMember { chat_id, user_id } => encode::remove_member(request_id, *chat_id, *user_id),
            Request::LeaveChat { chat_id } => encode::leave_chat(request_id, *chat_id),
            Request::GetChat { chat_id } => encode::get_chat(request_id, *chat_id),
            Request::ListChats { after_chat_id, limit } => encode::list_chats_page(request_id, *after_chat_id, *limit),
            Request::History { chat_id, from_seq, direction, limit } => {
                encode::history(request_id, *chat_id, *from_seq, (*direction).into(), *limit)
            }
            Request::Ping { nonce } => encode::ping(request_id, *nonce),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use magpie_wire::verify;

    #[test]
    fn every_request_encodes_a_valid_client_frame() {
        let all = [
            Request::Logout,
            Request::ListDevices,
            Request::RevokeDevice { device_id: 3 },
            Request::LookupUser { username: "bob".into() },
            Request::CreateDirect(7.into()),
            Request::CreateDirect("bob".into()),
            Request::CreateGroup { title: "g".into(), member_ids: vec![1, 2] },
            Request::AddMembers { chat_id: 1, user_ids: vec![3] },
            Request::RemoveMember { chat_id: 1, user_id: 3 },
            Request::LeaveChat { chat_id: 1 },
            Request::GetChat { chat_id: 1 },
            Request::ListChats { after_chat_id: 0, limit: 0 },
            Request::History { chat_id: 1, from_seq: 0, direction: Direction::Backward, limit: 10 },
            Request::Ping { nonce: 9 },
        ];
        for (i, r) in all.iter().enumerate() {
            let f = r.encode(i as u64 + 1);
            assert_eq!(verify::client_frame(&f).unwrap().request_id(), i as u64 + 1, "{r:?}");
        }
        let f = Request::CreateDirect("bob".into()).encode(1);
        let d = verify::client_frame(&f).unwrap().body_as_create_direct().unwrap();
        assert_eq!((d.peer_user_id(), d.peer_username()), (0, Some("bob")));
        let f = Request::History { chat_id: 4, from_seq: 8, direction: Direction::Forward, limit: 20 }.encode(1);
        let h = verify::client_frame(&f).unwrap().body_as_history().unwrap();
        assert_eq!((h.chat_id(), h.from_seq(), h.direction(), h.limit()), (4, 8, fb::Direction::Forward, 20));
    }
}
