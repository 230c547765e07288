package wechat

// codeMeanings are the WeChat errcodes an operator meets most, with what to do.
// https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html
var codeMeanings = map[int]string{
	-1:    "system busy, retry later",
	40001: "access_token invalid or not the latest",
	40002: "invalid grant_type",
	40003: "invalid openid",
	40013: "invalid appid: check WECHAT_APP_ID",
	40014: "invalid access_token",
	40016: "invalid number of buttons",
	40017: "invalid button type",
	40018: "invalid button name length",
	40019: "invalid button key length",
	40023: "invalid number of sub-buttons",
	40024: "invalid sub-button type",
	40025: "invalid sub-button name length",
	40026: "invalid sub-button key length",
	40027: "invalid sub-button url length",
	40054: "invalid sub-button url domain",
	40055: "invalid button url domain",
	40125: "invalid appsecret: check WECHAT_APP_SECRET (reset it in the console if unsure)",
	40164: "caller IP not in the whitelist",
	40243: "AppSecret frozen",
	41001: "access_token missing",
	41002: "appid missing",
	41004: "appsecret missing",
	42001: "access_token expired",
	43004: "recipient has not followed the account",
	45009: "daily API quota exceeded: wait for the reset at midnight (UTC+8) or clear it in the console",
	45011: "API called too often",
	45015: "reply window closed: the user has not written in the last 48 hours",
	45047: "too many customer-service messages without a user reply",
	46003: "menu does not exist",
	48001: "API not authorized for this account",
	65400: "menu API unavailable: the account uses the personalised-menu mode",
	89503: "the call needs an admin's confirmation",
}

// weComCodeMeanings are WeCom's errcodes an operator meets most. The
// numbers WeCom shares with WeChat do not always mean the same: 40001 is a
// wrong secret here.
// https://developer.work.weixin.qq.com/document/path/96213
var weComCodeMeanings = map[int]string{
	-1:    "system busy, retry later",
	40001: "invalid secret: check the application's corp_secret (管理后台 → 应用管理 → the application → Secret)",
	40003: "invalid UserID",
	40008: "invalid msgtype",
	40013: "invalid corpid: check corp_id (管理后台 → 我的企业 → 企业ID)",
	40014: "invalid access_token",
	40035: "invalid parameter",
	40056: "invalid agentid: check agent_id",
	40091: "invalid secret: it may belong to another corp",
	41001: "access_token missing",
	41002: "corpid missing",
	41004: "corpsecret missing",
	41011: "agentid missing",
	42001: "access_token expired",
	44004: "text content empty",
	45009: "API call limit exceeded: wait and retry (WeCom limits calls per minute and per hour)",
	45033: "too many concurrent calls",
	48002: "API not authorized for this application",
	50002: "member outside the application's visible range",
	60011: "no privilege for this member, department or tag",
	60020: "caller IP not in the application's trusted IPs",
	81013: "every recipient (user, department, tag) is invalid or outside the application's visible range",
}
