"""Write the synthetic Foshan 12345 samples: tickets, their intended labels, malformed lines.

Deterministic: the same seed gives byte-identical files, so the committed files can be
regenerated and diffed. Everything is invented: districts, towns and most main roads are
real Foshan places, but villages, estates, companies, shops and callers are made up, and phone,
ID and card numbers are random (ID and card numbers carry valid check digits so that maskers
are tested on realistic input).

    python samples/make_tickets.py [--out DIR] [--seed N] [--scale N]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

CST = timezone(timedelta(hours=8))
# A fixed end date, not "now": the files must not change when regenerated on another day.
END_DAY = datetime(2026, 11, 25, tzinfo=CST)
DAYS = 14
PII_SHARE = 0.15

LABELS = ("城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游", "卫生计生")
# Per label: tickets per district, plus a few that name no district at all (city-wide).
DISTRICT_QUOTA = {"chancheng": 8, "nanhai": 9, "shunde": 9, "gaoming": 5, "sanshui": 5, None: 4}


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclass(frozen=True)
class Town:
    name: str
    # The bare name when it is safe to use alone; "" when it is an everyday word too.
    short: str
    roads: tuple[str, ...]


@dataclass(frozen=True)
class Place:
    code: str | None
    name: str
    english: str
    towns: tuple[Town, ...]


PLACES = (
    Place(
        "chancheng",
        "禅城区",
        "Chancheng",
        (
            Town("祖庙街道", "祖庙", words("祖庙路 汾江中路 卫国路 福宁路 城门头路 人民路")),
            Town("石湾镇街道", "石湾", words("季华四路 绿景路 佛山大道南 江湾一路")),
            Town("张槎街道", "张槎", words("张槎一路 魁奇一路 季华六路")),
            Town("南庄镇", "南庄", words("禅西大道 紫洞路 南庄大道")),
        ),
    ),
    Place(
        "nanhai",
        "南海区",
        "Nanhai",
        (
            Town("桂城街道", "桂城", words("南海大道 桂澜路 海八路 灯湖东路 南桂东路 天佑路")),
            Town("狮山镇", "狮山", words("狮山大道 罗村大道 广云路")),
            Town("大沥镇", "大沥", words("广佛路 黄岐大道 沥苑路")),
            Town("里水镇", "", words("里水大道 和顺大道")),
            Town("九江镇", "九江", words("九江大道 沙口路")),
            Town("西樵镇", "西樵", words("西樵大道 樵金路")),
            Town("丹灶镇", "丹灶", words("丹灶大道 金沙大道")),
        ),
    ),
    Place(
        "shunde",
        "顺德区",
        "Shunde",
        (
            Town("大良街道", "大良", words("凤山中路 德胜东路 东乐路 南国东路 新松路")),
            Town("容桂街道", "容桂", words("容奇大道 桂洲大道 文华路")),
            Town("伦教街道", "伦教", words("伦教大道 三洲路")),
            Town("勒流街道", "勒流", words("勒流大道 龙洲路")),
            Town("北滘镇", "北滘", words("碧桂路 105国道 北滘大道")),
            Town("陈村镇", "陈村", words("陈村大道 花卉大道")),
            Town("乐从镇", "乐从", words("乐从大道 佛山一环")),
            Town("龙江镇", "龙江", words("龙江大道 325国道")),
            Town("均安镇", "均安", words("均安大道 星槎路")),
            Town("杏坛镇", "杏坛", words("杏坛大道 东村路")),
        ),
    ),
    Place(
        "gaoming",
        "高明区",
        "Gaoming",
        (
            Town("荷城街道", "荷城", words("沧江路 荷富路 文昌路 海华大道")),
            Town("杨和镇", "", words("杨和大道 对川路")),
            Town("明城镇", "", words("明城大道 城南路")),
            Town("更合镇", "", words("更合大道 合水路")),
        ),
    ),
    Place(
        "sanshui",
        "三水区",
        "Sanshui",
        (
            Town("西南街道", "", words("广海大道 健力宝南路 张边路 三水大道")),
            Town("云东海街道", "云东海", words("云东海大道 乐华路")),
            Town("白坭镇", "白坭", words("白坭大道 金太路")),
            Town("芦苞镇", "芦苞", words("芦苞大道 胥江路")),
            Town("大塘镇", "大塘", words("大塘大道 新城路")),
            Town("乐平镇", "乐平", words("乐平大道 范湖路")),
            Town("南山镇", "", words("南山大道 迳口路")),
        ),
    ),
)
# City-wide tickets: the caller names no district, so the places stay vague on purpose.
NOWHERE = Place(None, "", "", (Town("", "", words("某路段 家门口的马路 一条主干道 某十字路口")),))
# Villages are invented (head + tail) so that no real village is named in a complaint.
VILLAGE_HEADS = words("东 西 上 下 新 石 沙 莲 柏 榕 凤 竹 荔 鹤 蓢")
VILLAGE_TAILS = words("基 涌 岗 头 边 洲 坊 围 冲 田 坑")

ESTATE_HEADS = words(
    "碧水 金湾 翠湖 锦绣 御景 东方 嘉华 星河 怡景 君悦"
    " 雅居 丽港 龙湾 观澜 聚福 美林 海逸 丰泽 华悦 紫荆"
)
ESTATE_TAILS = words("花园 华庭 名苑 豪庭 雅苑 新村 公馆 湾畔 半岛 家园 尚城 御府")
BRANDS = words("恒锐 嘉骏 粤晟 华翊 骏泓 铭川 汇宸 锦弘 创溢 立昶 泓达 誉丰 卓湃 瀚森 晋毅 朗旭")
INDUSTRIES = words(
    "五金制品 家具 陶瓷 铝型材 纺织 电器 塑料制品"
    " 物流 餐饮管理 建材 包装材料 机械设备 服装 电子科技"
)
FACTORIES = words("五金 家具 陶瓷 铝材 纺织 电器 塑料 服装 包装 机械 印染 电镀")
SURNAMES = "陈李黄梁何张王刘罗冯邓林吴麦潘关谭苏叶区卢周"
PINYIN = words("chen li huang liang he zhang wang liu luo feng deng lin wu mai pan")
KINDERGARTENS = words("启智 童乐 小树苗 星光 贝贝佳 金太阳 七彩 小海豚")
VACCINES = words("二类疫苗 HPV疫苗 流感疫苗 五联疫苗 水痘疫苗 狂犬疫苗")
TRIPS = words("桂林三日游 云南六日游 港澳四日游 海南五日游 阳朔两日游 清远温泉两日游")
GOODS = words("冰箱 手机 沙发 空调 洗衣机 电动车 床垫 热水器")
SCHOOLS = ("某小学", "某中学", "某公办小学", "某民办学校", "某九年一贯制学校")
HOSPITALS = ("某医院", "某区属医院", "某民营医院", "某镇街医院")
SHOPS = words("健身房 美容院 游泳馆 理发店 瑜伽馆 汽车美容店 儿童乐园 洗衣店")

# One template: (title, body). "[a|b|c]" picks one alternative; "{slot}" is filled per ticket.
TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "城乡建设": (
        (
            "{estate}小区车库积水",
            "{area}{estate}小区地下车库长期积水，[一下雨就水浸|积水最深时没过脚踝|墙面渗水严重]，"
            "物业[不处理|互相推诿|一直拖着不修]。",
        ),
        (
            "{estate}物业乱收费",
            "{area}{estate}小区物业公司[擅自上调物业管理费，每平方米上涨0.{small}元|"
            "未经业主大会表决上涨停车费，月租车位涨了{small}0元]，业主多次反映无果。",
        ),
        (
            "工地夜间施工扰民",
            "{area}{road}附近一处工地[夜间施工|凌晨仍在打桩|晚上十点后还在浇筑混凝土]，"
            "[严重影响周边居民休息|附近居民无法入睡|已持续{days}天]。要求核查是否办理夜间施工许可。",
        ),
        (
            "{community}违法建设",
            "{area}{community}村有村民在[自家楼顶|天台|河涌边]违规加建[铁皮房|两层砖混房屋|彩钢棚]，"
            "[存在安全隐患|影响邻居采光|村委会劝阻无效]，要求查处违法建设。",
        ),
        (
            "{estate}电梯故障",
            "{area}{estate}小区{building}栋电梯[频繁故障|多次困人|经常停运]，[本月已停运{times}次|"
            "老人上下楼非常不便]，物业称维修资金审批慢。",
        ),
        (
            "开发商未办证",
            "其于{year}年在{place}购买{estate}的商品房，开发商[至今未办理不动产权证|逾期交楼已超过半年|"
            "交楼时墙体开裂至今未修]，要求相关部门协调。",
        ),
        (
            "{road}排水问题",
            "{area}{road}[市政排水井盖缺失|雨水管网堵塞|人行道地砖大面积破损]，[一下雨路面就积水|"
            "行人经过容易摔倒|附近商铺多次水浸]，要求尽快维修。",
        ),
        (
            "{community}村道路排水",
            "{area}{community}村[村内道路坑洼不平|巷道排水沟长期堵塞|村道下雨后积水严重]，"
            "[村委会一直未处理|雨季更加严重|小孩上学要绕路]。",
        ),
        (
            "维修资金使用不透明",
            "{area}{estate}小区住宅专项维修资金使用不透明，业委会[未公示使用明细|拒绝公开账目]，"
            "[业主怀疑被挪用|去年共动用了{big}万元]，要求主管部门介入。",
        ),
        (
            "老旧小区改造进度慢",
            "{area}老旧小区改造工程[进度缓慢|施工质量差|拆了外墙后停工两个月]，"
            "[楼道堆满建材影响居民出行|脚手架一直没拆|居民晾晒衣物受影响]。",
        ),
        (
            "公租房申请进度",
            "咨询{area}公租房[申请条件|轮候进度|租赁补贴发放]，其已于{month}月提交申请，"
            "[至今未收到审核结果|窗口称材料不全但未说明缺什么]。",
        ),
        (
            "装修拆改承重墙",
            "{area}{estate}小区{building}栋有业主装修时擅自拆改承重墙，[楼下墙体出现裂缝|"
            "物业制止无效]，担心房屋安全。",
        ),
        (
            "燃气管道施工占道",
            "{area}{road}燃气管道改造工程[开挖后未及时回填|围蔽占道时间过长]，[路面泥泞|"
            "影响周边商铺经营|晚上没有警示灯]。",
        ),
        (
            "开发商配套未兑现",
            "{area}{estate}小区开发商承诺的[配套幼儿园|会所|地面停车场]至今未建，"
            "[与销售宣传不符|业主多次维权无果]。",
        ),
        (
            "疑似危房",
            "{area}{community}村一栋老旧民房[外墙脱落|出现明显倾斜|屋顶瓦片松动]，"
            "[下方是学生上学必经之路|台风天更危险]，要求鉴定是否属于危房。",
        ),
    ),
    "环境保护": (
        (
            "餐饮油烟扰民",
            "{area}{road}[一家|多家]餐饮店[油烟直排|未安装油烟净化设施]，[油烟直接排向居民楼|"
            "住户长期不敢开窗]，要求环保部门查处。",
        ),
        (
            "工厂偷排废水",
            "{area}{community}村附近一家{factory}厂[夜间偷排废水|将污水直排河涌]，"
            "[河水发黑发臭|河面漂浮泡沫]，[已持续{days}天|附近鱼塘出现死鱼]。",
        ),
        (
            "娱乐场所噪音",
            "{area}{road}附近[一家酒吧每晚营业到凌晨两点，音乐声很大|一家KTV深夜仍有客人在门口喧哗|"
            "有人跳广场舞，音响开得很大]，[多次报警未果|老人和小孩无法休息]。",
        ),
        (
            "喷漆废气",
            "{area}{community}村一家{factory}厂[喷漆工序|熔炼车间]气味刺鼻，[周边学生出现咳嗽|"
            "晚上气味更浓]，怀疑未安装废气处理设备。",
        ),
        (
            "露天焚烧",
            "{area}{community}村空地有人[露天焚烧垃圾|焚烧电线外皮|焚烧工业边角料]，"
            "[浓烟滚滚|黑烟飘进附近小区|气味难闻]。",
        ),
        (
            "设备噪音扰民",
            "{area}{estate}小区旁[工厂冷却塔|配电房|商场空调外机]噪音大，[24小时轰鸣|"
            "夜间噪音明显超标]，住户长期失眠。",
        ),
        (
            "河涌污染",
            "{area}{community}村附近的河涌[水面漂浮大量死鱼|出现大片油污|水体发绿发臭]，"
            "怀疑上游有企业偷排。",
        ),
        (
            "工地扬尘",
            "{area}{road}[一处建筑工地|一家混凝土搅拌站]扬尘严重，[车辆进出未冲洗|未做围蔽洒水]，"
            "[附近居民家中到处是灰|空气很差]。",
        ),
        (
            "废品站污染",
            "{area}一家[废品回收站|废旧塑料加工点]占用{community}村空地，[堆放大量垃圾|"
            "雨水冲刷后污水流入鱼塘]。",
        ),
        (
            "垃圾站臭味",
            "{area}{estate}小区附近[垃圾中转站|污水泵站]臭味扰民，[夏天尤其严重|晚上臭味最浓]，"
            "要求加强除臭。",
        ),
        (
            "养殖场污染",
            "{area}{community}村[养猪场|养鸭场]粪便污水[直排鱼塘|流入农田]，[臭气熏天|蚊蝇很多]。",
        ),
        (
            "锅炉冒黑烟",
            "{area}{company}厂区内[违规使用燃煤锅炉|使用生物质锅炉未配除尘]，烟囱经常冒黑烟。",
        ),
        ("露天喷漆", "{area}{road}附近一家[汽修店|洗车场]露天喷漆，[油漆味很重|影响附近幼儿园]。"),
        (
            "工厂夜间生产噪音",
            "{area}{community}村有[陶瓷厂|铝材厂|五金厂]夜间[排放粉尘|打磨噪音大]，"
            "[晚上十一点后仍在生产|附近居民长期失眠]。",
        ),
        (
            "施工排污",
            "{area}{road}一处工地将泥浆水直接排入市政雨水井，[路面到处是泥浆|附近河涌变黄]。",
        ),
    ),
    "交通运输": (
        (
            "{bus}路公交班次少",
            "{area}{bus}路公交车[班次少|经常不按时发车|末班车提前收车]，[等车要四十多分钟|"
            "晚上下班赶不上车]，要求加密班次。",
        ),
        (
            "公交司机服务问题",
            "{bus}路公交车司机[开车时使用手机|急刹车导致乘客摔倒|拒载老人|未到站就停车上下客]，"
            "事发时间为{month}月{dom}日{clock}左右。",
        ),
        (
            "出租车拒载",
            "其在{place}乘坐出租车，司机[拒载，称不顺路|绕路，全程要价{taxi}元|"
            "不打表，比平时多收了一倍|要求议价，开口要价{taxi}元]。",
        ),
        (
            "网约车绕路",
            "通过某网约车平台叫车，从{area}{road}出发，司机[绕路多收费|中途甩客|车辆与登记信息不符]，"
            "[平台客服不处理|投诉后无回复]。",
        ),
        (
            "{road}路面坑洼",
            "{area}{road}路面[坑洼|塌陷|出现大坑]，[已有多辆车爆胎|电动车经过容易摔倒]，"
            "要求尽快修复。",
        ),
        (
            "公交站台破损",
            "{area}{road}公交站台[破损|没有遮雨棚|站牌信息过时]，[下雨天乘客只能淋雨|"
            "线路已调整但站牌未更新]。",
        ),
        (
            "建议增设公交站点",
            "建议在{area}{estate}小区附近[开通公交线路|增设公交站点|延长{bus}路公交线路]，"
            "[居民出行很不方便|最近的公交站步行要二十分钟]。",
        ),
        (
            "停车收费不规范",
            "{area}{road}[路边停车位收费不规范|停车场乱收费|咪表停车收费过高]，"
            "[停半小时收了{small}0元|收费员没有工作证]。",
        ),
        (
            "泥头车抛洒",
            "{area}{road}[泥头车|货车][超载抛洒泥土|超速行驶]，[道路泥泞|晚上噪音很大|"
            "存在安全隐患]。",
        ),
        (
            "地铁站接驳",
            "{area}[地铁站|城际站]出口[接驳公交不足|没有非机动车停放点]，[晚高峰排队很长|"
            "乘客出站后打不到车]。",
        ),
        (
            "信号灯配时",
            "{area}{road}路口[交通信号灯配时不合理|红绿灯长时间故障]，[高峰期拥堵严重|"
            "行人过马路很危险]。",
        ),
        (
            "驾校退费",
            "{area}{brand}驾校[收费后不安排练车|考试费迟迟不退|负责人失联]，"
            "[涉及学员{workers}人|其已交费{fee}元]。",
        ),
        (
            "客运站服务",
            "{area}汽车客运站[售票窗口服务态度差，工作人员不耐烦|提前停售车票，乘客滞留|"
            "班车临时取消未通知，退票还要收手续费]。",
        ),
        (
            "桥下积水",
            "{area}{road}[高架桥下路段一下雨就积水，车辆经常熄火|桥面伸缩缝破损，车辆经过颠簸|"
            "隧道照明灯损坏，夜间行车危险]。",
        ),
        (
            "共享单车乱停",
            "{area}{road}共享单车[乱停乱放|堆满人行道]，[行人只能走机动车道|运营方一直不清理]。",
        ),
    ),
    "教育文体": (
        (
            "学校乱收费",
            "{area}{school}[收取校服费|要求购买指定教辅资料|收取课后服务费]，[每生收费{fee}元|"
            "家长未被告知收费标准]，质疑收费不合理。",
        ),
        (
            "学位分配",
            "其孩子今年[入读一年级|升读初中]，户籍在{place}但[被分配到较远的学校|积分入学排名靠后没有学位]，"
            "要求协调学位。",
        ),
        (
            "幼儿园问题",
            "{area}{kindergarten}幼儿园[突然宣布停办，已交的学费不退|上调保教费，每月涨价{small}00元|"
            "伙食质量差，孩子经常吃不饱]。",
        ),
        (
            "教师有偿补课",
            "{area}{school}[有老师课后有偿补课，要求学生参加收费补习班|有老师体罚学生，孩子不敢上学|"
            "布置作业量过大，孩子每晚写作业到十一点]。",
        ),
        (
            "培训机构跑路",
            "{area}{brand}[教育培训中心|艺术培训中心]突然关门，[预收学费{big}万元无法退还|"
            "数十名家长受影响]。",
        ),
        (
            "体育场馆收费",
            "{area}[游泳馆|羽毛球馆|公共体育馆][收费过高|开放时间过短|周末不对外开放]，"
            "[市民无法正常健身|上班族下班后没法去]。",
        ),
        (
            "健身设施损坏",
            "{area}[体育公园|灯光球场|全民健身广场][篮球架松动|健身器材损坏|照明灯不亮]，"
            "[长期无人维修|存在安全隐患]。",
        ),
        (
            "图书馆服务",
            "{area}[图书馆|文化馆|社区书屋][周末闭馆|借书系统故障|自习室空调不制冷]，"
            "[影响学生自习|多次反映未改善]。",
        ),
        (
            "学校门口交通",
            "{area}{school}[上下学时段校门口交通混乱|校车超载|食堂饭菜质量差]，家长担心学生安全。",
        ),
        (
            "随迁子女入学",
            "咨询{area}[随迁子女入学政策|积分入学材料|初中学位申请]，[申请系统无法上传材料|"
            "不清楚需要提供哪些证明]。",
        ),
        (
            "教室条件差",
            "{area}{school}[教室未安装空调|学生午休只能趴在桌上|课室照明不足]，家长要求学校改善。",
        ),
        (
            "赛事退费",
            "{place}举办的[龙舟邀请赛|醒狮比赛|业余马拉松]报名费已交，但[赛事取消后未退费|组织混乱]。",
        ),
        (
            "学籍手续",
            "{area}{school}[学籍转移|中考报名|借读手续]办理[流程繁琐|窗口互相推诿]，[耽误孩子上学|"
            "家长跑了{times}趟]。",
        ),
        (
            "民办学校退费",
            "{area}{brand}学校[擅自提高学费|学生退学后拒退学费]，[家长多次协商无果|金额达{fee}元]。",
        ),
        (
            "网吧接纳未成年人",
            "{area}{school}附近[一家网吧|一家电子游戏厅]接纳未成年人，[学生放学后在里面待到很晚|"
            "家长多次发现孩子在里面]。",
        ),
    ),
    "劳动和社会保障": (
        (
            "欠薪",
            "其在{area}{company}上班，公司拖欠{months}个月工资共{wage}元，[老板失联|多次讨要无果]，"
            "要求劳动监察部门介入。",
        ),
        (
            "工地欠薪",
            "{area}{community}村一处工地[包工头|劳务公司]拖欠{workers}名工人工资，"
            "[涉及金额约{big}万元|工人急需用钱回家]。",
        ),
        (
            "未购买社保",
            "其在{company}工作了[三年|五年|一年多]，公司[未为其购买社保|按最低基数缴纳社保|"
            "离职后未转移社保关系]，要求补缴。",
        ),
        (
            "工伤认定",
            "其在{area}{company}上班时[手指被机器压伤|从高处坠落受伤|搬货时腰部受伤]，"
            "公司[不申报工伤|拒绝支付医药费]，要求认定工伤。",
        ),
        (
            "劳动合同",
            "{area}{company}[未与员工签订劳动合同|让员工签空白合同|试用期长达六个月]，"
            "[离职时扣押工资|不给开离职证明]。",
        ),
        (
            "住房公积金",
            "其[申请提取住房公积金|办理公积金贷款]遇到问题，[单位未按时缴存公积金|提取申请被退回{times}次]，"
            "要求解释。",
        ),
        (
            "加班费",
            "{area}{company}[安排员工每天加班到晚上十点|节假日加班不给加班费|单方面降薪]，"
            "员工多次反映无效。",
        ),
        (
            "停工关厂",
            "{area}{company}[突然宣布停工放假|关厂搬迁]，[未支付经济补偿|拖欠{months}个月工资]，"
            "涉及员工{workers}人。",
        ),
        (
            "灵活就业社保",
            "咨询[灵活就业人员|失业人员]在{area}[申领失业保险金|缴纳养老保险]的[条件|流程]，"
            "[窗口说法不一|网上办理一直失败]。",
        ),
        (
            "养老金",
            "其父亲在{area}[办理退休手续|领取养老金]时[被告知缴费年限不足|养老金发放延迟]，要求核实。",
        ),
        (
            "克扣工资",
            "{area}{company}[以罚款名义克扣工资，车间主管态度恶劣|扣押员工身份证，离职后无法取回|"
            "每月无故扣两三百元，财务不给说明]。",
        ),
        (
            "虚假招聘",
            "{area}[一家人力资源中介|一家劳务派遣公司][收取介绍费后不安排工作|发布虚假招聘信息]，"
            "[每人收取{fee}元|多名求职者被骗]。",
        ),
        (
            "就业补贴",
            "其在{place}创业，申请的[创业补贴|一次性就业补贴|社保补贴][迟迟未发放|被驳回但未说明原因]。",
        ),
        (
            "社保卡",
            "其在{area}办理社保卡[补卡|激活|金融功能]时[等了一个多月|被告知系统故障]，影响报销和领待遇。",
        ),
    ),
    "商贸旅游": (
        (
            "预付卡退费",
            "其在{area}{brand}{shop}办理了预付卡，[商家突然关门|老板失联|商家换了老板拒认旧卡]，"
            "卡内余额{fee}元无法退还。",
        ),
        (
            "市场缺斤少两",
            "在{area}{community}市场购买[蔬菜|海鲜|猪肉]时发现[缺斤少两|电子秤作弊]，"
            "[称重少了近二两|摊主拒绝退换]。",
        ),
        (
            "商品质量问题",
            "在{area}{brand}[家电城|电器城|家居城]购买的{goods}[出现质量问题|七天内故障]，"
            "商家[拒绝退换|推给厂家处理]。",
        ),
        (
            "旅行团强制购物",
            "参加{brand}旅行社组织的{trip}，[被导游强制购物|行程与合同不符|临时加收费用]，要求退款。",
        ),
        (
            "景区收费",
            "{area}某景区[门票价格过高|收费不透明|节假日临时涨价]，[停车场另收费|园内项目重复收费]。",
        ),
        (
            "超市问题",
            "{area}{brand}超市[销售过期食品，要求赔偿被拒|价签与结账价格不符，多收了十几元|"
            "会员积分被清零，客服互相推诿]。",
        ),
        (
            "菜市场管理",
            "{area}{community}菜市场[环境脏乱|摊位费上涨|管理方乱收费]，[经营户负担加重|"
            "管理方不作为]。",
        ),
        (
            "网购商品",
            "在网上店铺购买的商品[与描述不符|付款后一直未发货|疑似假冒品牌]，商家地址显示在{place}，"
            "[客服不回复|拒绝退款]。",
        ),
        (
            "加油站与4S店",
            "{area}[一家加油站加油量不足|一家汽车4S店维修乱收费|一家汽车4S店捆绑销售保险]，"
            "[多收了{small}0元|要求退费被拒]。",
        ),
        (
            "民宿酒店",
            "在{place}预订的[酒店|民宿][到店后无法入住|卫生条件差|押金不退]，[平台称联系不上商家|"
            "老板态度恶劣]。",
        ),
        (
            "商场促销",
            "{area}{brand}广场促销活动[满减规则不清|先涨价后打折|赠品不兑现]，消费者认为存在欺诈。",
        ),
        (
            "二手车交易",
            "在{area}一家二手车行购买的车辆[隐瞒事故|里程表被调|过户手续一直不办]，要求退车。",
        ),
        (
            "农家乐消费",
            "在{area}一家农家乐[菜品价格与菜单不符|强制收取包间费|结账时多收费用]，"
            "[多付了{small}00元|老板拒绝开发票]。",
        ),
        (
            "家具定制",
            "在{area}{brand}家具定制店定做的{goods}[逾期三个月未交货|尺寸与合同不符]，"
            "[已付定金{fee}元|商家拒绝退订]。",
        ),
    ),
    "卫生计生": (
        (
            "就诊等候",
            "其在{area}{hospital}[就诊时等候时间过长，挂号后等了三个多小时|"
            "看急诊时医生态度恶劣，未详细询问病情就开药|就诊时被要求重复检查，多花了几百元]。",
        ),
        (
            "疫苗接种",
            "其在{area}社区卫生服务站为孩子接种{vaccine}，[一直预约不到，工作人员称疫苗短缺|"
            "被要求先购买自费疫苗|接种后无人留观，孩子出现发热]。",
        ),
        (
            "医疗收费",
            "其家人在{area}{hospital}[住院|做手术]，[费用清单中有未使用的项目|费用比术前预估高出很多]，"
            "质疑[重复收费|乱收费]。",
        ),
        (
            "医保报销",
            "其[医保报销被拒|异地就医备案后仍无法直接结算|报销比例与规定不符]，{area}{hospital}称"
            "[该药品不在目录内|需回参保地报销]。",
        ),
        (
            "医院食堂",
            "{area}{hospital}食堂饭菜[有异物|疑似变质]，[多名患者家属|几名住院病人]吃后出现[腹泻|呕吐]。",
        ),
        (
            "生育登记",
            "咨询[生育登记|三孩生育登记|独生子女父母奖励|计划生育特别扶助金]办理，在{area}社区办理时"
            "[被要求提供多余材料|网上系统无法提交]。",
        ),
        (
            "非法行医",
            "{area}{community}村[一家私人诊所|一家门诊部][无证行医|超范围执业|夸大疗效]，"
            "[给老人输液|推销高价保健品]。",
        ),
        (
            "医疗美容纠纷",
            "在{area}{brand}[医疗美容诊所|口腔诊所]做[双眼皮手术|种植牙|激光祛斑]后[出现感染|"
            "效果与承诺不符]，[诊所拒绝负责|要求退款被拒]。",
        ),
        (
            "挂号难",
            "{area}{hospital}[专家号很难挂到，怀疑有黄牛倒号|停车位严重不足，病人家属意见很大|"
            "检查预约要排两周，耽误治疗]。",
        ),
        (
            "家庭医生",
            "{area}社区卫生服务中心[家庭医生签约后从未联系|慢性病药品经常缺货|夜间不接诊]，"
            "[老人拿药要跑好几次|签约形同虚设]。",
        ),
        ("药店处方药", "{area}{road}一家药店[无处方销售处方药|销售过期药品|药师不在岗]。"),
        (
            "出生医学证明",
            "其在{area}{hospital}生产，[出生医学证明|预防接种证]办理[迟迟未完成|需要来回跑{times}趟]，"
            "影响孩子入户。",
        ),
        (
            "蚊虫消杀",
            "{area}{community}村[积水多蚊虫孳生|附近有人感染登革热]，要求[尽快开展灭蚊消杀|"
            "清理卫生死角]。",
        ),
        (
            "护工收费",
            "{area}{hospital}护工收费[标准不明|每天高达{small}00元]，[医院称护工不归其管理|"
            "家属要求规范收费]。",
        ),
    ),
}

OPENINGS = {
    "phone": ("市民来电反映：", "来电人反映：", "市民来电称，", "市民来电投诉："),
    "web": ("网民留言：", "市民通过网站留言反映：", "市民在政府网站留言称，"),
    "app": ("市民通过12345移动端反映：", "市民通过APP留言："),
    "wechat": ("市民通过微信公众号反映：", "市民通过12345微信小程序留言："),
}
CLOSINGS = (
    "要求相关部门核实处理。",
    "希望有关部门尽快处理。",
    "请相关部门督促整改。",
    "要求尽快给予答复。",
    "希望尽快解决。",
    "",
)
CHANNEL_WEIGHTS = {"phone": 55, "wechat": 18, "app": 14, "web": 13}
# 12345 answers round the clock, but the load follows office hours with an evening tail.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 9, 12, 12, 10, 7, 8, 11, 11, 10, 9, 7, 7, 6, 5, 3, 2)


def pick(rng: random.Random, text: str) -> str:
    return re.sub(r"\[([^\[\]]+)\]", lambda m: rng.choice(m.group(1).split("|")), text)


# ------------------------------------------------------------------ personal data generators


def mobile(rng: random.Random) -> str:
    head = rng.choice(
        ("135", "136", "137", "138", "139", "150", "158", "159", "177", "186", "188", "189", "199")
    )
    return head + "".join(rng.choice("0123456789") for _ in range(8))


def landline(rng: random.Random) -> str:
    number = rng.choice("2368") + "".join(rng.choice("0123456789") for _ in range(7))
    return rng.choice(("0757-{}", "(0757){}", "0757{}", "0757-{}")).format(number)


def id_number(rng: random.Random, *, born: int = 1962, force_x: bool = False) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    area = rng.choice(("440604", "440605", "440606", "440607", "440608", "440681", "445321"))
    while True:
        start = datetime(born, 1, 1, tzinfo=CST)
        birth = start + timedelta(days=rng.randrange(0, 40 * 365 if born < 2000 else 12 * 365))
        body = f"{area}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
        check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
        if not force_x or check == "X":
            return body + check


def bank_card(rng: random.Random) -> str:
    bin_ = rng.choice(("622202", "621700", "622848", "621226", "623058", "622588"))
    length = rng.choice((16, 19, 19))
    digits = bin_ + "".join(rng.choice("0123456789") for _ in range(length - len(bin_) - 1))
    total = 0
    # Luhn: double every other digit, starting with the one next to the check digit.
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


def email(rng: random.Random) -> str:
    user = rng.choice(PINYIN) + rng.choice(("", "_", ".")) + str(rng.randrange(10, 99999))
    return f"{user}@{rng.choice(('example.com', 'example.net', 'mail.example.cn'))}"


def plate(rng: random.Random) -> str:
    city = rng.choice("EEEXY")
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    if rng.random() < 0.3:
        serial = rng.choice("DF") + "".join(rng.choice("0123456789") for _ in range(5))
    else:
        serial = rng.choice(letters + "0123456789") + "".join(
            rng.choice("0123456789") for _ in range(4)
        )
    return f"粤{city}{rng.choice(('·', '', '-', '·'))}{serial}"


# Contact details fit after any complaint.
CONTACT_SENTENCES: dict[str, tuple[str, ...]] = {
    "mobile": (
        "来电人联系电话{mobile}，希望回电告知处理结果。",
        "市民留下手机号{mobile}，请承办部门联系。",
        "如需核实可致电{mobile}。",
    ),
    "landline": ("家中座机{landline}，白天可联系。", "联系电话{landline}，工作日可联系。"),
    "email": ("希望通过邮箱{email}回复处理结果。", "相关照片已发送至邮箱{email}备查。"),
    "id_card": ("来电人身份证号{id_card}，要求实名反映并回复。",),
}
# ID numbers, cards and plates only make sense after particular complaints: template title -> kind
# and sentence.
TEMPLATE_PII: dict[str, tuple[str, str]] = {
    "开发商未办证": ("id_card", "购房人身份证号{id_card}，购房合同可提供。"),
    "{estate}物业乱收费": ("landline", "物业管理处电话{landline}一直无人接听。"),
    "工厂偷排废水": ("plate", "夜间运污水的槽罐车车牌为{plate}。"),
    "工地扬尘": ("plate", "其中一辆未冲洗的泥头车车牌为{plate}。"),
    "出租车拒载": ("plate", "涉事出租车车牌为{plate}。"),
    "网约车绕路": ("plate", "网约车车牌号{plate}，与平台登记的不一致。"),
    "公交司机服务问题": ("plate", "公交车车牌为{plate}。"),
    "泥头车抛洒": ("plate", "其中一辆车车牌为{plate}。"),
    "停车收费不规范": ("plate", "其车辆车牌为{plate}，可查停车记录。"),
    "驾校退费": ("bank_card", "学费从其银行卡{bank_card}转出。"),
    "学位分配": ("id_card", "孩子身份证号为{id_card}。"),
    "随迁子女入学": ("id_card", "孩子身份证号为{id_card}，系统提示信息有误。"),
    "培训机构跑路": ("bank_card", "学费从其银行卡{bank_card}转出，至今未退回。"),
    "民办学校退费": ("bank_card", "学费从其银行卡{bank_card}转出。"),
    "欠薪": ("bank_card", "工资卡号{bank_card}，近几个月都没有进账。"),
    "未购买社保": ("id_card", "其身份证号码{id_card}，入职时间为{year}年。"),
    "工伤认定": ("id_card", "伤者身份证号{id_card}。"),
    "住房公积金": ("id_card", "其身份证号码{id_card}。"),
    "养老金": ("id_card", "其父亲身份证号{id_card}。"),
    "克扣工资": ("bank_card", "工资卡号{bank_card}，可提供流水。"),
    "预付卡退费": ("bank_card", "办卡时从银行卡{bank_card}刷卡支付。"),
    "商品质量问题": ("bank_card", "付款银行卡号为{bank_card}，可提供转账记录。"),
    "二手车交易": ("plate", "所购车辆车牌为{plate}。"),
    "加油站与4S店": ("plate", "其车辆车牌{plate}，在该店有维修记录。"),
    "医疗收费": ("id_card", "患者身份证号{id_card}，可调取住院记录。"),
    "医保报销": ("id_card", "参保人身份证号{id_card}。"),
    "医疗美容纠纷": ("bank_card", "手术费从银行卡{bank_card}支付。"),
    "生育登记": ("id_card", "申请人身份证号{id_card}。"),
}
# The order kinds are handed out in, so that the ~15% of tickets with personal data show
# every kind a masker must handle, phone numbers most often as in real tickets.
PII_CYCLE = words("mobile plate id_card bank_card landline mobile plate email bank_card id_card")


def pii_values(rng: random.Random, label: str, turn: int) -> dict[str, str]:
    return {
        "mobile": mobile(rng),
        "landline": landline(rng),
        "email": email(rng),
        "plate": plate(rng),
        # Some IDs end in X, which a digits-only pattern would miss.
        "id_card": id_number(
            rng, born=2008 if label == "教育文体" else 1962, force_x=turn % 3 == 0
        ),
        "bank_card": bank_card(rng),
        "year": str(rng.randrange(2012, 2025)),
    }


# ------------------------------------------------------------------ tickets


@dataclass
class Ticket:
    record: dict[str, object]
    label: str
    district: str | None
    pii: tuple[str, ...]


def where(rng: random.Random, place: Place) -> tuple[str, str | None, dict[str, str]]:
    """The body's place phrase, the `location` field (or None), and the place slots."""
    town = rng.choice(place.towns)
    road = rng.choice(town.roads)
    if place.code is None:
        community = rng.choice(("某", "城郊某", "附近某"))
    else:
        community = rng.choice(VILLAGE_HEADS) + rng.choice(VILLAGE_TAILS)
    estate = rng.choice(ESTATE_HEADS) + rng.choice(ESTATE_TAILS)
    slots = {"road": road, "community": community, "estate": estate}
    if place.code is None:
        area = rng.choice(("", "", "佛山市", "市区"))
        slots["place"] = area or "佛山"
        return area, rng.choice((None, None, "佛山市", "不详")), slots
    town_name = town.short or town.name
    location = rng.choice(
        (
            f"{place.name}{town.name}{road}",
            f"{place.name}{town.name}",
            f"{town_name}{road}附近",
            f"佛山市{place.name}{town.name}{estate}",
            f"{place.name}{town.name}{community}",
            f"{place.name}",
            f"{place.english} District, Foshan",
            None,
            None,
        )
    )
    if location is None:
        # Nothing in the location field: the body has to say where.
        area = rng.choice((f"{place.name}{town.name}", town.name, place.name, town_name))
    else:
        area = rng.choice((f"{place.name}{town.name}", town_name, place.name, ""))
    # For sentences that read wrongly without a place ("其在…乘坐出租车").
    slots["place"] = area or town_name
    return area, location, slots


def received_at(rng: random.Random) -> datetime:
    day = END_DAY - timedelta(days=rng.randrange(DAYS))
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return day + timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))


def make_ticket(rng: random.Random, label: str, place: Place, pii_turn: int | None) -> Ticket:
    area, location, slots = where(rng, place)
    templates = TEMPLATES[label]
    if location is None and place.code is not None:
        # Only the body can say where, so it must be a template that names the place.
        templates = tuple(t for t in templates if "{area}" in t[1] or "{place}" in t[1])
    pii_kind: str | None = None
    if pii_turn is not None:
        # A kind no complaint of this label can carry (a plate in a school complaint) passes
        # its turn to the next kind in the cycle.
        for step in range(len(PII_CYCLE)):
            pii_kind = PII_CYCLE[(pii_turn + step) % len(PII_CYCLE)]
            bound = tuple(t for t in templates if TEMPLATE_PII.get(t[0], ("",))[0] == pii_kind)
            if bound:
                templates = bound
                break
            if pii_kind in CONTACT_SENTENCES:
                break
    title_t, body_t = rng.choice(templates)
    brand = rng.choice(BRANDS)
    industry = rng.choice(INDUSTRIES)
    factory = rng.choice(FACTORIES)
    slots |= {
        "area": area,
        "brand": brand,
        "industry": industry,
        "company": f"{brand}{industry}有限公司" if rng.random() < 0.6 else f"一家{factory}厂",
        "factory": factory,
        "taxi": str(rng.randrange(4, 19) * 10),
        "school": rng.choice(SCHOOLS),
        "kindergarten": rng.choice(KINDERGARTENS),
        "hospital": rng.choice((*HOSPITALS, f"{brand}医院")),
        "vaccine": rng.choice(VACCINES),
        "trip": rng.choice(TRIPS),
        "goods": rng.choice(GOODS),
        "shop": rng.choice(SHOPS),
        "bus": str(rng.choice((rng.randrange(1, 300), rng.randrange(1, 60)))),
        "building": str(rng.randrange(1, 30)),
        "times": rng.choice("两三四五"),
        "days": str(rng.randrange(3, 40)),
        "months": rng.choice("两三四五六"),
        "month": str(rng.randrange(1, 11)),
        "dom": str(rng.randrange(1, 29)),
        "clock": f"{rng.randrange(6, 23)}时{rng.choice(('', '15分', '30分', '45分'))}",
        "year": str(rng.randrange(2012, 2025)),
        "small": str(rng.randrange(2, 9)),
        "fee": str(rng.randrange(2, 30) * 100),
        "wage": str(rng.randrange(40, 400) * 100),
        "big": str(rng.randrange(2, 60)),
        "workers": str(rng.randrange(6, 90)),
    }
    core = pick(rng, body_t).format_map(slots)
    channel = rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()))[0]
    opening = rng.choice(OPENINGS[channel])
    last_sentence = core.rstrip("。").split("。")[-1]
    # Agents write one demand, not two: no stock closing after a sentence that already asks.
    asks = any(word in last_sentence for word in ("要求", "希望", "建议"))
    closing = "" if asks else rng.choice(CLOSINGS)
    pii: tuple[str, ...] = ()
    extra = ""
    if pii_kind is not None and pii_turn is not None:
        bound_kind, sentence = TEMPLATE_PII.get(title_t, ("", ""))
        if bound_kind != pii_kind:
            sentence = rng.choice(CONTACT_SENTENCES[pii_kind])
        extra, pii = sentence.format_map(pii_values(rng, label, pii_turn)), (pii_kind,)
    body = opening + core + closing + extra

    record: dict[str, object] = {
        "ticket_id": "",
        "received_at": "",
        "channel": channel,
    }
    title_share = {"phone": 0.1, "wechat": 0.4, "app": 0.6, "web": 0.8}[channel]
    if rng.random() < title_share:
        topic = pick(rng, title_t).format_map(slots)
        if topic.endswith("问题"):
            record["title"] = f"反映{topic}"
        else:
            record["title"] = rng.choice(("关于{}的反映", "反映{}问题", "{}")).format(topic)
    record["body"] = body
    caller_share = {"phone": 0.85, "wechat": 0.6, "app": 0.5, "web": 0.45}[channel]
    if rng.random() < caller_share:
        caller: dict[str, str] = {"name": rng.choice(SURNAMES) + rng.choice(("先生", "女士"))}
        if rng.random() < 0.9:
            caller["phone"] = mobile(rng) if rng.random() < 0.85 else landline(rng)
        record["caller"] = caller
    if location is not None:
        record["location"] = location
    return Ticket(record=record, label=label, district=place.code, pii=pii)


def make_tickets(seed: int, per_label_scale: int = 1) -> list[Ticket]:
    titles = {title for templates in TEMPLATES.values() for title, _ in templates}
    if stray := set(TEMPLATE_PII) - titles:
        raise AssertionError(f"personal-data sentences for unknown templates: {stray}")
    rng = random.Random(seed)
    by_code = {place.code: place for place in PLACES}
    plan = [
        (label, by_code.get(code, NOWHERE) if code else NOWHERE)
        for label in LABELS
        for code, count in DISTRICT_QUOTA.items()
        for _ in range(count * per_label_scale)
    ]
    rng.shuffle(plan)
    with_pii = set(rng.sample(range(len(plan)), round(len(plan) * PII_SHARE)))
    tickets: list[Ticket] = []
    seen: set[str] = set()
    for index, (label, place) in enumerate(plan):
        turn = sorted(with_pii).index(index) if index in with_pii else None
        while True:
            ticket = make_ticket(rng, label, place, turn)
            body = str(ticket.record["body"])
            if body not in seen:
                seen.add(body)
                break
        tickets.append(ticket)
    stamp(rng, tickets)
    return tickets


def stamp(rng: random.Random, tickets: list[Ticket]) -> None:
    """Give every ticket a time and a per-day, time-ordered ticket id."""
    times = sorted(received_at(rng) for _ in tickets)
    rng.shuffle(tickets)
    # Hotline ids count all of a day's tickets; the samples are a thin slice of them.
    counters: dict[str, int] = {}
    for ticket, moment in zip(tickets, times, strict=True):
        day = f"{moment:%Y%m%d}"
        counters[day] = counters.get(day, rng.randrange(80, 400)) + rng.randrange(3, 60)
        ticket.record["ticket_id"] = f"FS-{day}-{counters[day]:06d}"
        ticket.record["received_at"] = moment.isoformat()


# ------------------------------------------------------------------ malformed lines


def malformed_lines() -> list[bytes]:
    """One bad input per line, each failing validation for a different reason."""

    def good(**changes: object) -> dict[str, object]:
        base: dict[str, object] = {
            "ticket_id": "FS-20261120-009001",
            "received_at": "2026-11-20T10:15:00+08:00",
            "channel": "phone",
            "body": "市民来电反映：禅城区祖庙街道某小区门口下水道堵塞，污水溢到路面。",
        }
        base.update(changes)
        return {key: value for key, value in base.items() if value is not None}

    def line(obj: object) -> bytes:
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")

    without_id = good(ticket_id=None, body="市民来电反映：南海区桂城某路段路灯不亮。")
    without_body = good(ticket_id="FS-20261120-009003", title="顺德区大良某小区噪音")
    without_body.pop("body")
    gbk = good(
        ticket_id="FS-20261120-009010", body="市民来电反映：三水区西南街道某菜市场污水横流。"
    )
    utf16 = good(
        ticket_id="FS-20261120-009011", body="市民来电反映：高明区荷城街道某路段路灯损坏。"
    )
    lines = [
        # truncated mid-string, as a producer that died mid-write leaves it
        b'{"ticket_id": "FS-20261120-009000", "received_at": "2026-11-20T10:00:00+08:00", '
        + '"channel": "phone", "body": "市民来电反映：小区门口'.encode(),
        line(["FS-20261120-009002", "2026-11-20T10:05:00+08:00", "phone", "投诉噪音"]),
        line(without_id),
        line(without_body),
        line(good(ticket_id="FS-20261120-009004", body="")),
        line(good(ticket_id="FS-20261120-009005", received_at=1763604900)),
        line(good(ticket_id="FS-20261120-009006", received_at="2026-11-20T10:30:00")),
        line(good(ticket_id="FS-20261120-009007", body="市民来电反映：" + "噪音扰民。" * 4001)),
        line(good(ticket_id="FS-20261120-009008", channel=3)),
        line(good(ticket_id="FS-20261120-009009", body="   \n\t ")),
        # a legacy system that still writes GBK
        json.dumps(gbk, ensure_ascii=False).encode("gbk"),
        # UTF-16 with its byte-order mark, as a Windows export writes it (spelled out so that
        # the bytes do not depend on the machine's byte order)
        b"\xff\xfe" + json.dumps(utf16, ensure_ascii=False).encode("utf-16-le"),
    ]
    for raw in lines:
        # bytes.splitlines() also breaks at \r, so neither may occur inside a line.
        if b"\n" in raw or b"\r" in raw:
            raise AssertionError(f"a malformed sample would span two lines: {raw[:40]!r}")
    return lines


# ------------------------------------------------------------------ main


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument(
        "--scale", type=int, default=1, help="multiply the per-label quota (1 gives 280 tickets)"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    tickets = make_tickets(args.seed, args.scale)
    tickets.sort(key=lambda t: (str(t.record["received_at"]), str(t.record["ticket_id"])))
    write_jsonl(out / "tickets.jsonl", [t.record for t in tickets])
    write_jsonl(
        out / "tickets_labels.jsonl",
        [
            {
                "ticket_id": t.record["ticket_id"],
                "label": t.label,
                "district": t.district,
                "pii": list(t.pii),
            }
            for t in tickets
        ],
    )
    (out / "malformed.jsonl").write_bytes(b"".join(raw + b"\n" for raw in malformed_lines()))

    labels = Counter(t.label for t in tickets)
    districts = Counter(t.district or "-" for t in tickets)
    sys.stdout.write(
        f"{len(tickets)} tickets ({sum(1 for t in tickets if t.pii)} with personal data) "
        f"-> {out}\nper label: {dict(labels)}\nper district: {dict(districts)}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
