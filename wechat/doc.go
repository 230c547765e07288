// Package wechat owns WeChat's callback protocol, both ways and without
// Gin or HTTP servers: the URL signature and its query (ParsePushQuery,
// VerifyPush), safe-mode AES (Crypter), the messages and events a push
// carries (ParseMessage, Message), passive replies (Reply, ReplyData) and
// customer-service messages (CustomMessage), the envelopes that wrap them
// (SealPush and OpenPush for the server side, OpenReply for the client
// side), and WeChat's API errors (APIError) with the errcodes callers
// branch on.
//
// The API client, the token manager, menus, the JS-SDK, callback dedup and
// the fake WeChat used by the tests live in the subpackages.
package wechat
