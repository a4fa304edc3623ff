// Words of the app in zh-CN (the default) and English. t("key", {name}) fills {name}.
const zh = {
  app: "邻里", tagline: "居家养老服务", signIn: "登录", register: "注册", signOut: "退出登录",
  phone: "手机号", password: "密码", name: "姓名", role: "我是", noAccount: "还没有账号？注册",
  haveAccount: "已有账号？登录", roleSenior: "长辈本人", roleFamily: "家属", roleProvider: "服务人员",
  meal: "助餐", cleaning: "助洁", escort: "助行", bathing: "助浴", medical: "助医",
  sos: "紧急求助", sosHint: "按一下，5 秒后呼叫", myVisits: "我的服务", noVisits: "还没有预约",
  when: "什么时候来？", now: "现在", today: "今天", tomorrow: "明天", confirm: "确认预约",
  confirmTitle: "请确认", note: "备注（可不填）", back: "返回", home: "首页", settings: "设置",
  readAloud: "朗读", stopReading: "停止朗读", bookAgain: "再订一次", cancel: "取消预约",
  cancelAsk: "确定要取消这次服务吗？", yesCancel: "是，取消", noKeep: "不取消", cancelled: "已取消",
  searching: "正在找服务人员", accepted: "{who}已接单", enRoute: "{who}在路上", inService: "服务中",
  completed: "已完成", escalated: "社区正在安排服务人员", someone: "服务人员", master: "{s}师傅",
  rateAsk: "这次服务怎么样？", good: "满意", ok: "一般", bad: "不满意", rated: "谢谢您的评价",
  waiting: "等待发送", refused: "没有发送成功：{msg}", dismiss: "知道了", booked: "已预约",
  sosCountdown: "{n} 秒后呼叫", sosCancel: "取消，不呼叫", sosNow: "立即呼叫", sosSent: "已发出求助",
  sosSentHint: "已通知家人、社区和附近的服务人员", sosSeenBy: "{who}已看到，正在处理", sosNotSeen: "还没有人回应，请稍候",
  sosOffline: "现在没有网络，请直接打电话", call: "打电话给{who}", call120: "拨打 120 急救",
  family: "家人", reconnecting: "正在重新连接…", offline: "没有网络，已保存的预约会在联网后发送",
  textSize: "字体大小", sizeS: "标准", sizeM: "大", sizeL: "特大", contrast: "高对比度", language: "语言",
  on: "开", off: "关", speakRate: "朗读", mySeniors: "我关注的长辈", bookFor: "为{name}预约",
  noSeniors: "还没有关联长辈。请长辈在“设置”里添加您的手机号。", sosAlert: "{name}发出紧急求助！",
  ack: "我知道了，马上处理", acked: "已确认：{who}", openSos: "紧急求助", location: "位置",
  onDuty: "正在接单", offDuty: "休息中", goOnDuty: "开始接单", goOffDuty: "停止接单",
  dutyHint: "接单时只上报大致位置（约 1 公里），休息时不上报", offers: "新订单", noOffers: "暂时没有新订单",
  distance: "距离 {km} 公里", expiresIn: "剩 {s} 秒", accept: "接单", decline: "不接", taken: "已被别人接走",
  jobs: "今天的服务", upcoming: "以后的服务", noJobs: "暂无", navigate: "导航（高德地图）",
  navigateGeo: "用其他地图打开", depart: "出发", arrive: "到达签到", finish: "完成签退",
  credit: "信用分", rating: "评分", ratingNone: "还没有评分", ratingsN: "{n} 次评价", jobTitle: "服务详情",
  address: "地址", callSenior: "打电话", locating: "正在获取位置…", needLocation: "需要位置权限才能签到",
  profileTitle: "完善资料", birthYear: "出生年份", save: "保存", contactName: "紧急联系人姓名",
  contactPhone: "紧急联系人手机号", addFamily: "添加家人", relation: "关系", added: "已添加",
  services: "服务项目", radius: "服务范围（公里）", useMyPlace: "用我现在的位置作为驻点",
  pendingVerify: "资料已提交，等待社区审核", version: "版本", pickSenior: "为谁预约？",
  at: "{day} {time}", asap: "尽快", minutes: "{n} 分钟", error: "出错了", retry: "重试",
  linkedFamily: "已关联的家人", loading: "正在加载…", signedInAs: "{name}（{role}）",
  roleName_senior: "长辈", roleName_family: "家属", roleName_provider: "服务人员",
  roleName_center_staff: "社区工作人员", roleName_org_admin: "机构管理员", roleName_admin: "管理员",
  staffNote: "社区中心请使用电脑端控制台。", openConsole: "打开社区中心控制台", jobAssigned: "已接单，待出发", notifications: "消息通知", pushOn: "已开启", pushOff: "开启通知", pushTurnOff: "关闭通知", pushUnsupported: "这个浏览器不能接收通知；紧急消息会发短信", pushDenied: "没有得到通知权限（可在手机设置里允许）；紧急消息会发短信", pushFailed: "暂时无法开启通知；紧急消息会发短信", planBadge: "定期", imOk: "我很好（每日平安）", imOkDone: "今天已报平安：{time}", jobEnRoute: "在路上", showMap: "在地图上查看", skip: "跳到主要内容",
  // 每周… and 我的定期服务 (views/weekly.js, views/plans.js)
  everyWeek: "每周…", weeklyTitle: "每周{service}", whichDays: "每周哪几天？", whatTime: "几点来？", otherTime: "其他时间（可不填）",
  planConfirm: "确认", pickDays: "请先选择哪几天", planNeedsNet: "设置定期服务需要联网，请联网后再试", planSaved: "已设置：{what}",
  myPlans: "我的定期服务", plansOf: "{name}的定期服务", regular: "定期服务", noPlans: "还没有定期服务", planNext: "接下来",
  planPaused: "已暂停，恢复后继续安排", pause: "暂停", resume: "恢复", skipNext: "跳过下一次", endPlan: "取消计划",
  endAsk: "确定取消这个定期服务吗？以后都不再安排。", yesEnd: "是，取消计划", planEnded: "已取消计划", pausedDone: "已暂停",
  resumed: "已恢复", skippedOne: "已跳过：{when}", skippedList: "已跳过", addPlan: "新增定期服务", everyDay: "每天",
  planWeekly: "每周{days}", planOther: "定期", daySep: "、", days: "一,二,三,四,五,六,日",
  dayNames: "星期一,星期二,星期三,星期四,星期五,星期六,星期日",
};

const en = {
  app: "Linli", tagline: "Home care", signIn: "Sign in", register: "Register", signOut: "Sign out",
  phone: "Phone", password: "Password", name: "Name", role: "I am", noAccount: "No account? Register",
  haveAccount: "Have an account? Sign in", roleSenior: "A senior", roleFamily: "Family", roleProvider: "A provider",
  meal: "Meals", cleaning: "Cleaning", escort: "Escort", bathing: "Bathing", medical: "Medical",
  sos: "Emergency", sosHint: "Press once: calls in 5 s", myVisits: "My visits", noVisits: "No bookings yet",
  when: "When?", now: "Now", today: "Today", tomorrow: "Tomorrow", confirm: "Confirm booking",
  confirmTitle: "Please confirm", note: "Note (optional)", back: "Back", home: "Home", settings: "Settings",
  readAloud: "Read aloud", stopReading: "Stop", bookAgain: "Book again", cancel: "Cancel visit",
  cancelAsk: "Cancel this visit?", yesCancel: "Yes, cancel", noKeep: "Keep it", cancelled: "Cancelled",
  searching: "Finding a carer", accepted: "{who} accepted", enRoute: "{who} is on the way", inService: "In service",
  completed: "Done", escalated: "The center is arranging a carer", someone: "A carer", master: "{s}",
  rateAsk: "How was it?", good: "Good", ok: "OK", bad: "Not good", rated: "Thank you",
  waiting: "Waiting to send", refused: "Not sent: {msg}", dismiss: "OK", booked: "Booked",
  sosCountdown: "Calling in {n} s", sosCancel: "Cancel, don't call", sosNow: "Call now", sosSent: "Help is called",
  sosSentHint: "Family, the center and carers nearby are told", sosSeenBy: "{who} has seen it", sosNotSeen: "No answer yet, please wait",
  sosOffline: "No network: please phone", call: "Call {who}", call120: "Call 120 ambulance",
  family: "Family", reconnecting: "Reconnecting…", offline: "Offline: saved bookings are sent when back online",
  textSize: "Text size", sizeS: "Normal", sizeM: "Large", sizeL: "Largest", contrast: "High contrast", language: "Language",
  on: "On", off: "Off", speakRate: "Read aloud", mySeniors: "My seniors", bookFor: "Book for {name}",
  noSeniors: "No senior linked yet. Ask them to add your phone in Settings.", sosAlert: "{name} needs help!",
  ack: "I'm on it", acked: "Acknowledged: {who}", openSos: "Emergency", location: "Location",
  onDuty: "On duty", offDuty: "Off duty", goOnDuty: "Go on duty", goOffDuty: "Go off duty",
  dutyHint: "On duty only a rough position (~1 km) is sent; none off duty", offers: "New offers", noOffers: "No offers now",
  distance: "{km} km away", expiresIn: "{s} s left", accept: "Accept", decline: "Decline", taken: "Taken by someone else",
  jobs: "Today", upcoming: "Upcoming", noJobs: "None", navigate: "Navigate (Amap)",
  navigateGeo: "Open in another map", depart: "Set off", arrive: "Arrived: check in", finish: "Done: check out",
  credit: "Credit", rating: "Rating", ratingNone: "No ratings yet", ratingsN: "{n} ratings", jobTitle: "Visit",
  address: "Address", callSenior: "Call", locating: "Getting position…", needLocation: "Location is needed to check in",
  profileTitle: "Your profile", birthYear: "Year of birth", save: "Save", contactName: "Emergency contact name",
  contactPhone: "Emergency contact phone", addFamily: "Add family", relation: "Relation", added: "Added",
  services: "Services", radius: "Service radius (km)", useMyPlace: "Use my position as base",
  pendingVerify: "Submitted: waiting for the center to verify", version: "Version", pickSenior: "Book for whom?",
  at: "{day} {time}", asap: "As soon as possible", minutes: "{n} min", error: "Something went wrong", retry: "Retry",
  linkedFamily: "Linked family", loading: "Loading…", signedInAs: "{name} ({role})",
  roleName_senior: "senior", roleName_family: "family", roleName_provider: "provider",
  roleName_center_staff: "center staff", roleName_org_admin: "organization admin", roleName_admin: "admin",
  staffNote: "Center staff: please use the console on a computer.", openConsole: "Open the center console", jobAssigned: "Accepted: set off when ready", notifications: "Notifications", pushOn: "On", pushOff: "Turn on", pushTurnOff: "Turn off", pushUnsupported: "This browser cannot receive notifications; urgent ones come by SMS", pushDenied: "Permission refused (allow it in the phone settings); urgent ones come by SMS", pushFailed: "Could not turn on notifications now; urgent ones come by SMS", planBadge: "Regular", imOk: "I'm fine (daily check-in)", imOkDone: "Checked in today: {time}", jobEnRoute: "On the way", showMap: "Show on map", skip: "Skip to content",
  everyWeek: "Every week…", weeklyTitle: "{service} every week", whichDays: "Which days?", whatTime: "What time?",
  otherTime: "Another time (optional)", planConfirm: "Confirm", pickDays: "Please choose the days first",
  planNeedsNet: "Regular services need a connection: please try again online", planSaved: "Set: {what}",
  myPlans: "My regular services", plansOf: "{name}'s regular services", regular: "Regular services", noPlans: "No regular services yet",
  planNext: "Next", planPaused: "Paused: resume to continue", pause: "Pause", resume: "Resume", skipNext: "Skip the next one",
  endPlan: "End plan", endAsk: "End this regular service? No more visits will be arranged.", yesEnd: "Yes, end it",
  planEnded: "Plan ended", pausedDone: "Paused", resumed: "Resumed", skippedOne: "Skipped: {when}", skippedList: "Skipped",
  addPlan: "Add a regular service", everyDay: "Every day", planWeekly: "Every {days}", planOther: "Regular", daySep: ", ",
  days: "Mon,Tue,Wed,Thu,Fri,Sat,Sun", dayNames: "Monday,Tuesday,Wednesday,Thursday,Friday,Saturday,Sunday",
};

// API error codes in the user's language; unknown codes fall back to the server's own message.
const errors = {
  zh: {
    invalid_credentials: "手机号或密码不对", unauthorized: "请先登录", forbidden: "没有权限做这件事",
    not_found: "找不到了，可能已被删除", offer_taken: "这单已被别人接走", offer_expired: "这单已过期",
    invalid_transition: "状态已经变了，请刷新", validation_error: "填写的内容有误", rate_limited: "操作太频繁，请稍后再试",
    busy: "系统繁忙，请稍后再试", weak_password: "密码太简单：至少 8 位，不要用手机号", phone_taken: "这个手机号已注册",
    address_not_found: "找不到这个地址，请写得更详细", network: "网络不通，请检查网络", already_rated: "已经评价过了",
    idempotency_key_reused: "这次预约已经提交过", no_senior: "还没有长辈资料", provider_busy: "这个时间您已有其他服务", family_user_not_found: "这个手机号还没有注册家属账号",
    not_completed: "服务完成后才能评价", csrf_failed: "页面已过期，请刷新后再试", provider_not_verified: "资料还在审核中，审核通过后才能接单",
  },
  en: {
    invalid_credentials: "Wrong phone or password", unauthorized: "Please sign in", forbidden: "Not allowed",
    not_found: "Not found", offer_taken: "Someone else took this offer", offer_expired: "This offer has expired",
    invalid_transition: "It changed meanwhile: please refresh", validation_error: "Please check what you entered",
    rate_limited: "Too many tries: please wait", busy: "Busy: please try again soon",
    weak_password: "Password too simple: 8+ characters, not your phone", phone_taken: "This phone is already registered",
    address_not_found: "Address not found: please be more precise", network: "No network", already_rated: "Already rated",
    idempotency_key_reused: "This booking was already sent", no_senior: "No senior profile yet", provider_busy: "You have another visit then", family_user_not_found: "No family account with this phone yet",
    not_completed: "You can rate after the visit", csrf_failed: "The page expired: please reload", provider_not_verified: "Waiting for verification before taking work",
  },
};

let lang = "zh";

export const setLang = (value) => {
  lang = value === "en" ? "en" : "zh";
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
};
export const getLang = () => lang;

/** text with each {name} replaced by vars[name] (the phone app's and the console's words). */
export const fill = (text, vars = {}) => text.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ""));

export function t(key, vars = {}) {
  return fill((lang === "en" ? en : zh)[key] ?? zh[key] ?? key, vars);
}

/** An API error in the user's language: a known code, else the server's message (zh / en halves). */
export function errorText(error) {
  const known = errors[lang][error?.code];
  if (known) return known;
  const message = error?.message || t("error");
  const halves = message.split(" / ");
  return halves.length === 2 ? halves[lang === "en" ? 1 : 0] : message;
}

const TZ = "Asia/Shanghai";
const dayKey = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: TZ }).format(d);

/** "今天 15:00" / "明天 09:00" / "3月5日 09:00" in Asia/Shanghai. */
export function when(iso) {
  const d = new Date(iso);
  const time = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false }).format(d);
  const today = dayKey(new Date());
  const tomorrow = dayKey(new Date(Date.now() + 86400000));
  const key = dayKey(d);
  let day;
  if (key === today) day = t("today");
  else if (key === tomorrow) day = t("tomorrow");
  else day = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", { timeZone: TZ, month: "short", day: "numeric" }).format(d);
  return t("at", { day, time });
}

export const isToday = (iso) => dayKey(new Date(iso)) === dayKey(new Date());
export { dayKey, TZ };
