"""Reply texts in English and Chinese; Telegram's ``language_code`` picks, English otherwise.

``t(lang, key, **values)`` formats the text for ``key``; values are inserted as they are
and escaped later, when a reply is rendered (``bot.telegram.replies``).
"""

from __future__ import annotations

EN, ZH = "en", "zh"

_TEXTS: dict[str, tuple[str, str]] = {
    # key: (English, Chinese)
    "cmd.start": ("what this bot does", "机器人简介"),
    "cmd.help": ("commands and how to subscribe", "命令与订阅方法"),
    "cmd.topics": ("topics, with subscribe buttons", "话题列表与订阅按钮"),
    "cmd.subscribe": (
        "subscribe to a topic or a spike (see /trends): /subscribe ID",
        "订阅话题或激增提醒(见 /trends):/subscribe ID",
    ),
    "cmd.unsubscribe": ("unsubscribe: /unsubscribe ID", "退订:/unsubscribe ID"),
    "cmd.mysubs": ("your subscriptions", "我的订阅"),
    "cmd.mute": (
        "mute a topic or a watch: /mute ID 2h, /mute watch N 2h",
        "静音话题或个人提醒:/mute ID 2h、/mute watch N 2h",
    ),
    "cmd.unmute": (
        "unmute a topic or a watch: /unmute ID, /unmute watch N",
        "取消静音:/unmute ID、/unmute watch N",
    ),
    "cmd.trends": ("names whose coverage rose most lately", "近期报道量上升最多的名字"),
    "cmd.status": ("admin: health, queue, errors", "管理:运行状态"),
    "cmd.feeds": ("admin: feeds and their health", "管理:订阅源列表"),
    "cmd.addfeed": ("admin: /addfeed URL [id] [interval]", "管理:添加订阅源"),
    "cmd.removefeed": ("admin: /removefeed ID", "管理:删除订阅源"),
    "cmd.pausefeed": ("admin: /pausefeed ID", "管理:暂停订阅源"),
    "cmd.resumefeed": ("admin: /resumefeed ID", "管理:恢复订阅源"),
    "cmd.rules": ("admin: topics and the last reload", "管理:规则与上次加载"),
    "cmd.reload": ("admin: reload the rules now", "管理:立即重新加载规则"),
    "cmd.test": ("admin: /test TEXT or URL (dry run)", "管理:试匹配文本或网址"),
    "cmd.stats": ("admin: chart of alerts, /stats 7d", "管理:统计图表"),
    "cmd.watch": ("a personal alert: /watch QUERY", "个人提醒:/watch 查询"),
    "cmd.watches": ("this chat's watches, with remove buttons", "本聊天的个人提醒及删除按钮"),
    "cmd.unwatch": ("remove a watch: /unwatch N", "删除个人提醒:/unwatch N"),
    "cmd.resumechat": (
        "admin: send again to a chat that had blocked the bot",
        "管理:恢复向已停发的聊天发送",
    ),
    "start.intro": (
        "I watch news feeds and send an alert when an item matches a topic you follow.",
        "我监测新闻源,当新条目匹配你订阅的话题时发送提醒。",
    ),
    "start.how": (
        "To subscribe: send /topics and press a topic's button, or /subscribe ID.",
        "订阅方法:发送 /topics 并点击话题按钮,或发送 /subscribe ID。",
    ),
    "start.group": (
        "In a group, only the group's admins can change its subscriptions.",
        "在群组中,只有群管理员可以更改本群的订阅。",
    ),
    "help.commands": ("Commands", "命令"),
    "help.admin": ("Admin commands", "管理命令"),
    "button.topics": ("📋 Topics", "📋 话题"),
    "topics.title": ("Topics", "话题"),
    "topics.none": ("There are no topics yet.", "暂时没有话题。"),
    "topics.page": ("page {page}/{pages}", "第 {page}/{pages} 页"),
    "topics.legend": ("✅ subscribed · press a button to change", "✅ 已订阅 · 点击按钮切换"),
    "topics.any": ("any of", "任一"),
    "topics.all": ("and", "并且"),
    "sub.done": ("Subscribed to {name}.", "已订阅 {name}。"),
    "sub.already": ("Already subscribed to {name}.", "已经订阅了 {name}。"),
    "unsub.done": ("Unsubscribed from {name}.", "已退订 {name}。"),
    "unsub.not": ("Not subscribed to {id}.", "没有订阅 {id}。"),
    "sub.unknown": ("There is no topic or spike {id}.", "没有话题或激增提醒 {id}。"),
    "sub.suggest": ("Did you mean:", "你是不是要找:"),
    "sub.browse": ("See /topics for the list.", "发送 /topics 查看全部话题。"),
    "sub.usage": ("Usage: /{command} ID (see /topics)", "用法:/{command} ID(见 /topics)"),
    "sub.group_admin": (
        "Only this group's admins can change its subscriptions.",
        "只有本群管理员可以更改本群的订阅。",
    ),
    "mute.admin": (
        "Only this chat's admins can mute or unmute topics here.",
        "只有本聊天的管理员可以在这里静音或取消静音话题。",
    ),
    "mysubs.title": ("Subscriptions here", "本聊天的订阅"),
    "mysubs.none": (
        "No subscriptions here yet. Send /topics to pick some.",
        "这里还没有订阅。发送 /topics 选择话题。",
    ),
    "mysubs.dormant": ("removed from the rules: dormant", "已从规则中移除:暂停"),
    "mysubs.muted": ("muted until {until}", "静音至 {until}"),
    "mysubs.unsub_button": ("✖ {name}", "✖ {name}"),
    "mute.usage": (
        "Usage: /mute ID [30m|2h|1d] for a topic, /mute watch N [30m|2h|1d] for a watch",
        "用法:话题 /mute ID [30m|2h|1d],个人提醒 /mute watch N [30m|2h|1d]",
    ),
    "mute.choose": ("Mute {name} here for how long?", "在这里将 {name} 静音多久?"),
    "mute.done": ("🔕 {name} muted here until {until}.", "🔕 {name} 已静音至 {until}。"),
    "mute.toast": (
        "🔕 {name} muted for {duration}. Press again to unmute.",
        "🔕 {name} 已静音 {duration}。再按一次取消静音。",
    ),
    "unmute.done": ("🔔 {name} unmuted here.", "🔔 {name} 已取消静音。"),
    "unmute.not": ("{name} is not muted here.", "{name} 在这里没有静音。"),
    "unmute.usage": (
        "Usage: /unmute ID for a topic, /unmute watch N for a watch",
        "用法:话题 /unmute ID,个人提醒 /unmute watch N",
    ),
    "bad.duration": (
        "{value!r} is not a duration: use minutes, hours or days, e.g. 30m, 2h, 1d (at most 30d).",
        "{value!r} 不是有效时长:请用分钟、小时或天,例如 30m、2h、1d(最长 30d)。",
    ),
    "bad.id": (
        "{value!r} is not an id: ids use lowercase letters, digits, - and _.",
        "{value!r} 不是有效 ID:只能包含小写字母、数字、- 和 _。",
    ),
    "bad.too_long": (
        "That is too long ({length} characters; at most {limit}).",
        "内容太长({length} 个字符,最多 {limit} 个)。",
    ),
    "bad.too_many": ("At most {limit} ids at once.", "一次最多 {limit} 个 ID。"),
    "bad.callback": (
        "This button is out of date. Send the command again.",
        "此按钮已过期,请重新发送命令。",
    ),
    "unknown.command": ("Unknown command /{name}.", "未知命令 /{name}。"),
    "unknown.hint": ("Try /help.", "发送 /help 查看命令。"),
    "unknown.closest": ("Did you mean /{name}?", "你是不是要用 /{name}?"),
    "flood": (
        "Too many commands at once: wait a few seconds.",
        "命令太频繁,请稍等几秒。",
    ),
    "admin.refused": (
        "Sorry, /{name} is for the bot's admins only.",
        "抱歉,/{name} 仅限机器人管理员使用。",
    ),
    "trends.unset": (
        "No spikes are set up in the rules, so no names are counted.",
        "规则中没有设置 spikes,因此没有统计任何名字。",
    ),
    "trends.title": (
        "📈 {name}: each {window} against the {baseline} before",
        "📈 {name}:每 {span} 的计数对比此前 {baseline_span}",
    ),
    "trends.window": ("This {window}:", "当前窗口({span}):"),
    "trends.day": ("The last day:", "最近一天:"),
    "trends.row": ("{label}: {count} (usual {usual})", "{label}:{count}(通常 {usual})"),
    "trends.quiet": ("no rises: coverage is as usual", "没有上升:报道量正常"),
    "trends.subscribe": (
        "Alerts on these surges in this chat: /subscribe {id}",
        "在本聊天接收这些激增提醒:/subscribe {id}",
    ),
    "trends.subscribed": (
        "This chat gets alerts on these surges (/unsubscribe {id} to stop).",
        "本聊天已接收这些激增提醒(发送 /unsubscribe {id} 停止)。",
    ),
    "trends.sub_button": ("➕ {name}", "➕ {name}"),
    # --- personal watches (bot.control.watches) ---
    "watch.usage": (
        'Send /watch and what to look for: words and "phrases" (all required), OR '
        "between alternatives, -word to exclude, @entity for a person or place in the rules. "
        "Example: /watch @putin treaty OR 条约 -football",
        '发送 /watch 加上要关注的内容:词语和"短语"(全部需要出现),OR 表示任选其一,'
        "-词语 表示排除,@实体 表示规则中的人物或地点。例如:/watch @putin treaty OR 条约 -football",
    ),
    "watch.too_long": (
        "That query is too long ({length} characters; at most {limit}). Nothing was saved.",
        "查询太长({length} 个字符,最多 {limit} 个)。未保存。",
    ),
    "watch.only_exclusions": (
        "A watch needs at least one word to look for, not only -exclusions. Nothing was saved.",
        "个人提醒至少需要一个要查找的词,不能只有 -排除词。未保存。",
    ),
    "watch.too_short": (
        "“{term}” is too short to be useful: use at least two letters or digits, or a "
        "Chinese word. Nothing was saved.",
        "“{term}”太短:请至少用两个字母或数字,或一个中文词。未保存。",
    ),
    "watch.bad_wildcard": (
        "In “{term}”, * must follow a Latin letter or digit (sanction*). Nothing was saved.",
        "“{term}”中的 * 必须跟在拉丁字母或数字后面(例如 sanction*)。未保存。",
    ),
    "watch.unclosed": (
        'A quote is not closed: put the phrase between two " marks. Nothing was saved.',
        '引号没有闭合:请把短语放在两个 " 之间。未保存。',
    ),
    "watch.dangling_or": (
        "OR needs a word on each side: /watch putin OR 普京. Nothing was saved.",
        "OR 两边都需要词语:/watch putin OR 普京。未保存。",
    ),
    "watch.or_exclusion": (
        "OR joins words to look for; an -exclusion cannot be one of them. Nothing was saved.",
        "OR 只能连接要查找的词,不能连接 -排除词。未保存。",
    ),
    "watch.unknown_entity": (
        "There is no entity @{entity} in the rules. Nothing was saved.",
        "规则中没有实体 @{entity}。未保存。",
    ),
    "watch.closest": ("Did you mean {closest}?", "你是不是要用 {closest}?"),
    "watch.limit": (
        "This chat already has {limit} watches, the most allowed. Remove one with /unwatch N "
        "(see /watches). Nothing was saved.",
        "本聊天已有 {limit} 个个人提醒,已达上限。请先用 /unwatch N 删除一个(见 /watches)。未保存。",
    ),
    "watch.off": ("Personal watches are turned off here.", "此机器人未开启个人提醒。"),
    "watch.admin": (
        "In a group, only the group's admins can add or remove its watches.",
        "在群组中,只有群管理员可以添加或删除本群的个人提醒。",
    ),
    "watch.saved": ("Watch {number} saved: {query}", "个人提醒 {number} 已保存:{query}"),
    "watch.understood": ("Understood as (in the rules language):", "理解为(规则语言):"),
    "watch.preview": (
        "In the last {days} days it would have caught {count} items:",
        "过去 {days} 天内会匹配 {count} 条:",
    ),
    "watch.preview_capped": (
        "Among the newest {limit} items of the last {days} days it would have caught {count}:",
        "在过去 {days} 天最新的 {limit} 条中会匹配 {count} 条:",
    ),
    "watch.preview_none": (
        "In the last {days} days it would have caught nothing. Alerts come as new items match.",
        "过去 {days} 天内没有匹配的条目。有新条目匹配时会提醒你。",
    ),
    "watch.where": (
        "Alerts come to this chat only. /watches lists them, /unwatch {number} removes this one.",
        "提醒只发到本聊天。/watches 列出全部,/unwatch {number} 删除这个。",
    ),
    "watches.none": (
        "This chat has no watches. Make one with /watch QUERY.",
        "本聊天没有个人提醒。用 /watch 查询 创建一个。",
    ),
    "watches.title": ("Watches here ({count}/{limit})", "本聊天的个人提醒({count}/{limit})"),
    "watches.all_title": ("Every chat's watches ({count})", "所有聊天的个人提醒({count})"),
    "watches.usage": (
        "Send /watches for this chat's watches (admins: /watches all).",
        "发送 /watches 查看本聊天的个人提醒(管理员:/watches all)。",
    ),
    "alert.mute_watch": ("🔕 Mute watch", "🔕 静音此个人提醒"),
    "watches.muted": ("muted until {until}", "静音至 {until}"),
    "watches.dormant": (
        "dormant: an entity it names is gone from the rules",
        "暂停:其中的实体已从规则中移除",
    ),
    "watches.remove_button": ("✖ {number}: {query}", "✖ {number}:{query}"),
    "unwatch.usage": (
        "Send /unwatch N, with N from /watches (admins: /unwatch CHAT N).",
        "发送 /unwatch N,N 见 /watches(管理员:/unwatch 聊天 N)。",
    ),
    "unwatch.done": ("Watch {number} removed: {query}", "已删除个人提醒 {number}:{query}"),
    "unwatch.not": (
        "There is no watch {number} here; /watches lists them.",
        "这里没有个人提醒 {number};/watches 可查看列表。",
    ),
    "unwatch.elsewhere": (
        "Watch {number} was made in another thread of this group; its alerts go there, and "
        "there /watches lists it and /unwatch {number} removes it.",
        "个人提醒 {number} 是在本群的另一个话题中创建的,提醒发到那里;请在那里用 /watches 查看、"
        "用 /unwatch {number} 删除。",
    ),
    "watches.thread_title": (
        "Watches in this thread ({count})",
        "本话题的个人提醒({count})",
    ),
    "watches.elsewhere": (
        "{others} more in other threads of this group, each listed in its own thread "
        "({total}/{limit} in all).",
        "本群其他话题中还有 {others} 个,在各自的话题中列出(共 {total}/{limit})。",
    ),
    "watches.thread": ("forum thread {thread}", "论坛话题 {thread}"),
    "watches.none_here": (
        "No watches in this thread; {others} in other threads of this group, each listed "
        "in its own thread ({total}/{limit} in all). Make one here with /watch QUERY.",
        "本话题没有个人提醒;本群其他话题中有 {others} 个,在各自的话题中列出"
        "(共 {total}/{limit})。用 /watch 查询 在这里创建一个。",
    ),
    "watch.duplicate": (
        "Watch {number} here already looks for that ({query}); nothing was saved.",
        "这里的个人提醒 {number} 已经在查找同样的内容({query});未保存。",
    ),
    "watches.mute_hint": (
        "Mute one for a while: /mute watch N [30m|2h|1d]; /unmute watch N ends it.",
        "暂时静音:/mute watch N [30m|2h|1d];/unmute watch N 取消。",
    ),
    "error.internal": (
        "Something went wrong; the admins can see it in the log.",
        "出错了;管理员可以在日志中查看。",
    ),
}


def language(code: str | None) -> str:
    """``zh-hans``, ``zh-TW``, ``zh`` -> ``zh``; anything else (or nothing) -> ``en``."""
    return ZH if code and code.lower().startswith("zh") else EN


def t(lang: str, key: str, **values: object) -> str:
    english, chinese = _TEXTS[key]
    text = chinese if lang == ZH else english
    return text.format(**values) if values else text


def has(key: str) -> bool:
    return key in _TEXTS
