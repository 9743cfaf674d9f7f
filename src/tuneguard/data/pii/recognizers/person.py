"""PERSON without a model: names after cues (`my name is`, `Dear`, `Mr.`, `我叫`, `姓名：`, `王先生`)."""

from __future__ import annotations

from .base import Pattern, Recognizer

# The 100 most common Chinese surnames plus common two-character ones (public statistics, Ministry of Public
# Security).
CN_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范"
    "金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁"
    "岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时"
    "穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池"
    "查麻苑迟邝"
)
CN_COMPOUND = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒", "夏侯")
_HAN = r"[\u4e00-\u9fff]"
_NAME_EN = r"(?P<v>[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?(?:\s[A-Z]\.)?(?:\s(?:van |de |von )?[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?){0,2})"  # noqa: E501
_STOP = {
    "Mr",
    "Mrs",
    "Ms",
    "Miss",
    "Mx",
    "Dr",
    "Prof",
    "Herr",
    "Frau",
    "Customer",
    "Customers",
    "Sir",
    "Madam",
    "Team",
    "All",
    "Friend",
    "Friends",
    "User",
    "Users",
    "Support",
    "Colleague",
    "Colleagues",
    "Hiring",
    "Manager",
    "Valued",
    "Client",
    "Member",
    "Members",
    "Everyone",
    "Reader",
    "Not",
    "Here",
    "The",
    "This",
    "That",
    "Just",
    "Sorry",
    "Happy",
    "Writing",
    "Calling",
    "Looking",
    "Interested",
}
_CN_STOP = (
    "先生",
    "女士",
    "小姐",
    "同学",
    "老师",
    "经理",
    "客户",
    "用户",
    "您好",
    "你好",
    "我们",
    "大家",
    "本人",
    "是",
)


class PersonCueRecognizer(Recognizer):
    name = "person_cue"
    entities = ("PERSON",)
    patterns = (
        Pattern(
            r"(?:[Mm]y name is|[Mm]y name's|[Nn]ame\s*:|[Dd]ear|[Ss]igned,?|[Cc]ontact person:?|[Tt]his is)\s+"  # noqa: E501
            + _NAME_EN,
            0.75,
            prefilter=r"(?:[Mm]y name|[Nn]ame\s*:|[Dd]ear|[Ss]igned|[Cc]ontact person|[Tt]his is)",
        ),
        Pattern(
            r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Frau)\.?\s+" + _NAME_EN,
            0.8,
            prefilter=r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Frau)\.?\s+[A-Z]",
        ),
        Pattern(
            r"(?:Regards|Sincerely|Best|Cheers|Thanks|Thank you),?[ \t]*\n[ \t]*" + _NAME_EN,
            0.65,
            prefilter=r"(?:Regards|Sincerely|Best|Cheers|Thanks|Thank you),?[ \t]*\n[ \t]*[A-Z]",
        ),
        Pattern(
            r"(?:我叫|我的名字是|我的名字叫|姓名[:：]?\s*|联系人[:：]?\s*|收件人[:：]?\s*|名字[:：]\s*)(?P<v>"
            + _HAN
            + r"{2,3}?)(?=[^\u4e00-\u9fff]|$|先生|女士|小姐|同学|老师|是|今年|在|的|来自|住)",
            0.8,
            prefilter=r"(?:我叫|我的名字|我是|姓名|联系人|收件人|名字[:：])",
        ),
        Pattern(
            r"(?P<v>(?:"
            + "|".join(CN_COMPOUND)
            + r"|["
            + CN_SURNAMES
            + r"])"
            + _HAN
            + r"{0,2}?)(?:先生|女士|小姐|同学|老师)",
            0.7,
            prefilter=r"(?:先生|女士|小姐|同学|老师)",
        ),
    )
    method = "cue-based (no model): names after 'my name is', 'Dear', titles, 我叫, 姓名, 先生/女士"

    def validate(self, value, text, start, end):
        first = value.split()[0]
        if first in _STOP:
            return None
        if any(w in value for w in _CN_STOP):
            return None
        return "PERSON", 1.0
