// Writes samples/pisar-sample.jsonl: 44 PiSAR rows plus deliberately bad lines (see samples/README.md).
// Usage: node samples/make-sample.mjs   (run node samples/make-images.mjs for the images it refers to)
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const FT = 'ft-qwen3-vl-8b';
const GPT = 'gpt-4o';
const CLAUDE = 'claude-sonnet';

/** Raw lines (strings) are written as is: they are the deliberately bad ones. */
const BAD = {
  blank: '',
  truncated:
    '{"id": "pisar-broken", "input": "A tram driver rings the bell twice before pulling away from the stop.", "rationale": "Two rings warn',
  array: '["pisar-0099", "A parking attendant waves a car into the last free space.", "He wanted the car off the ramp."]',
};

const entries = [
  {
    id: 'pisar-0001',
    input:
      'A driver on a two-lane rural road slows from 90 to 60 km/h well before a blind crest, although no other vehicle is visible and the speed limit is 90 km/h.',
    rationale:
      'The crest hides whatever is beyond it; at 90 km/h the driver could not stop within the short sight distance if a vehicle or obstacle were stopped just over the top.',
    outputs: {
      [FT]: 'The driver slowed because the crest blocks the view ahead; at full speed they could not stop within the short visible distance if something were stopped just past the top.',
      [GPT]: 'The driver is likely exercising general caution, as rural roads can present unexpected hazards such as wildlife, farm vehicles or poor road surfaces, and reducing speed improves overall safety.',
      [CLAUDE]: 'Reducing speed here reflects defensive driving habits: the driver may be unfamiliar with the road or anticipating changing conditions, and chose a more comfortable safety margin.',
    },
  },
  {
    id: 'pisar-0002',
    input:
      'A support agent for an internet provider, handling a chat about a slow connection, asks the customer to run a speed test with the laptop plugged into the router by an Ethernet cable before opening a technician ticket.',
    rationale:
      'The agent wants to rule out Wi-Fi as the cause; a wired test isolates the line itself, and a technician visit is only justified if the wired speed is also low.',
    outputs: {
      [FT]: 'The agent asks for a wired speed test to rule out Wi-Fi problems, since only a low speed over Ethernet would show a fault on the line that justifies sending a technician.',
      [GPT]: 'The agent follows a standard troubleshooting script that gathers diagnostic data before escalation, helping the company reduce unnecessary technician visits and associated costs.',
      [CLAUDE]: 'Asking for a speed test lets the agent document the problem objectively and confirm the complaint, which is usually required before any ticket can be created.',
    },
  },
  {
    id: 'pisar-0003',
    input:
      'A warehouse picking robot stops half a metre short of a shelf bay and waits, although its target bin is in that bay, while a worker restocks the adjacent bay.',
    image: 'images/warehouse-amber.png',
    rationale:
      "The worker is inside the robot's safety zone, so it pauses to keep the required separation distance and will resume once the worker leaves the adjacent bay.",
    outputs: {
      [FT]: 'The robot waits because the worker is within its safety zone next to the bay; it holds position to keep the required separation and continues once the worker moves away.',
      [GPT]: 'The robot may have detected an obstacle or a change in its planned path, triggering a pause while it recalculates the optimal route to the target bin.',
      [CLAUDE]: 'The robot is likely yielding to the human as part of collaborative operation rules, which prioritize people in shared workspaces to avoid collisions.',
    },
  },
  {
    id: 'pisar-0004',
    input:
      'A web-browsing agent asked to find the cheapest direct flight from Lisbon to Oslo on 14 March sorts the results by price, then opens the third result instead of the first.',
    rationale:
      'The two cheapest results include a stopover and the task requires a direct flight; the third result is the cheapest option that is actually nonstop.',
    outputs: {
      [FT]: 'The agent skipped the first two results because they have a stopover; the task asks for a direct flight, and the third is the cheapest nonstop option.',
      [GPT]: "The agent may be verifying details such as baggage allowance, departure times or airline reputation before committing, to ensure the result best matches the user's needs.",
      [CLAUDE]: 'Opening the third result suggests the agent judged it to offer better overall value, perhaps balancing price against flight duration or departure time.',
    },
  },
  {
    id: 'pisar-0005',
    input:
      'In a photo of a home kitchen, a woman holds a pan lid at an angle over a frying pan with flames rising from it; the tap beside her is turned off.',
    image: 'images/kitchen-red.png',
    rationale:
      'She is smothering an oil fire with the lid instead of using water, because water on burning oil would spatter and spread the flames.',
    outputs: {
      [FT]: 'She covers the burning pan with the lid rather than using water, since water would make the burning oil spatter and spread the fire.',
      [GPT]: 'She is likely trying to control the heat while cooking, using the lid to reduce splattering or to keep the food warm.',
      [CLAUDE]: 'The woman appears to be responding to a kitchen fire by containing it, cutting off oxygen to the flames with the lid.',
    },
  },
  {
    id: 'pisar-0006',
    input:
      'In a busy emergency department, a triage nurse moves a 58-year-old man who reports mild indigestion and sweating ahead of a patient with a visibly deformed wrist.',
    rationale:
      'Sweating with upper-abdominal discomfort in a middle-aged man can be an atypical presentation of a heart attack, which is time-critical, whereas a wrist fracture is painful but stable.',
    outputs: {
      [FT]: 'Indigestion with sweating in a 58-year-old man may be an atypical heart attack, which is time-critical; the deformed wrist hurts but is not life-threatening.',
    },
  },
  {
    id: 'pisar-0007',
    input:
      'In a football match, a winger who is through on goal in the 89th minute, with his team leading 1-0, turns away from goal and runs the ball toward the corner flag.',
    rationale:
      'Protecting the lead matters more than a second goal; shielding the ball by the corner flag runs down the clock and keeps play far from his own goal.',
  },
  BAD.blank,
  {
    id: 'pisar-0008',
    input:
      'A code-review bot flags a pull request that renders user comments with the template line {{{comment}}}; the PR\'s test fixture contains the comment <img src=x onerror=alert(1)>.',
    rationale:
      "Triple braces insert the comment unescaped, so a comment like <script>alert('x')</script> would run in every visitor's browser; the bot flags it as a cross-site scripting risk.",
    outputs: {
      [FT]: "Triple braces render the comment without escaping, so input such as <script>alert('x')</script> would execute for every reader; the bot flags the cross-site scripting risk.",
      [GPT]: "The bot flags the change because it detects potentially unsafe HTML in the pull request, which violates the repository's security policy.",
      [CLAUDE]: 'Automated reviewers often flag template changes that touch user content, since they can introduce rendering bugs or security problems.',
    },
  },
  {
    id: 'pisar-0009',
    input:
      'À la boulangerie « Chez Léa » in Lyon, the baker cuts a baguette in half before wrapping it, after a Japanese tourist pointed at it and said 「半分にしてください」 🥖.',
    rationale:
      '「半分にしてください」 means “please cut it in half”, so the baker is simply carrying out the customer’s request before wrapping the baguette 🥖.',
    outputs: {
      [FT]: 'The customer said 「半分にしてください」, which means “please cut it in half”, so the baker halves the baguette as asked before wrapping it.',
      [GPT]: 'The baker may be cutting the baguette to make it easier for the tourist to carry or store, a common courtesy in French bakeries.',
      [CLAUDE]: "Cutting it in half is likely a response to the customer's gesture; bakers often do this for customers who want a smaller portion.",
    },
  },
  {
    id: 'pisar-0010',
    input:
      'In the UK, a lorry driver about to turn left into a narrow side street first moves toward the centre line of the road, away from the kerb.',
    image: 'images/junction-grey.png',
    rationale:
      "A long lorry's rear wheels cut inside the path of its front wheels; moving out first gives the trailer room so it does not mount the kerb or hit a cyclist on the inside.",
    outputs: {
      [FT]: "The lorry's rear wheels track inside the front ones, so the driver swings out first to give the trailer room and avoid clipping the kerb or a cyclist on the inside.",
      [GPT]: 'The driver is positioning the vehicle to improve visibility of oncoming traffic and pedestrians before committing to the turn.',
      [CLAUDE]: 'Large vehicles need a wider turning radius, so the driver makes space for the turn, which can look counterintuitive to other road users.',
    },
  },
  {
    id: 'pisar-0011',
    input:
      'A bank\'s phone agent refuses to read out the last four digits of a card to a caller who has answered two of three security questions correctly.',
    rationale:
      'Partial verification is not verification; disclosing card details before every check passes could help a fraudster who has gathered some personal information take over the account.',
    outputs: {
      [FT]: 'Passing two of three questions does not verify the caller, and revealing card digits before full verification could help a fraudster who already knows some personal details take over the account.',
      [GPT]: 'The agent is following bank policy and data protection regulations that prohibit sharing sensitive card information over the phone.',
    },
  },
  {
    // Suspect reference: the rationale ignores the students blocking the path.
    id: 'pisar-0012',
    input:
      'A delivery robot on a university campus leaves the paved path, drives across the grass for about ten metres, then rejoins the path; a group of students is standing across the path at that spot.',
    rationale:
      'The robot took the grass as a shortcut to cut its travel time, since its route planner prefers shorter routes when the ground is dry.',
    outputs: {
      [FT]: 'The robot went around the group of students blocking the path, leaving the pavement briefly because there was no room to pass them and rejoining once clear.',
      [GPT]: 'The robot detected the students standing on the path as an obstacle and rerouted onto the grass to get around them safely.',
      [CLAUDE]: 'With pedestrians occupying the path, the robot chose a short detour across the grass to avoid them, then returned to its normal route.',
    },
  },
  BAD.truncated,
  {
    id: 'pisar-0013',
    messages: [
      { role: 'system', content: 'You explain why agents act as they do. Answer in 1-3 sentences.' },
      {
        role: 'user',
        content:
          "A coding agent asked to fix a failing unit test edits the test's expected value instead of the function under test, after reading yesterday's commit that changed the function's rounding from half-up to banker's rounding. Why?",
      },
    ],
    gold_rationale:
      "The agent concluded the function's new behaviour is intentional, per yesterday's commit, so the test's expected value is outdated and the test, not the function, needed updating.",
    outputs: {
      [FT]: "The agent judged that yesterday's commit changed the rounding on purpose, so the test's expected value was stale and the test was the thing to update.",
      [GPT]: 'The agent chose the minimal change that makes the test pass, which is a common shortcut when fixing failing tests quickly.',
      [CLAUDE]: "Editing the test suggests the agent believed the test was wrong, perhaps because the expected value looked inconsistent with the function's documentation.",
    },
  },
  {
    id: 'pisar-0014',
    prompt:
      'Explain the behaviour: a hiker descending a steep snowfield turns to face the slope and kicks steps while going down backward.',
    reference:
      'Facing the slope lets the hiker kick secure steps and keep an ice axe or hands in the snow; descending face-out on steep snow risks a slip that quickly becomes an uncontrolled slide.',
    outputs: {
      [FT]: 'Facing into the slope lets the hiker kick solid steps and keep hands or an axe in the snow, since facing outward on steep snow risks a slip turning into an uncontrolled slide.',
      [CLAUDE]: 'On steep terrain, facing inward provides more points of contact and a better sense of balance, much like climbing down a ladder.',
    },
  },
  {
    id: 'pisar-0015',
    input:
      "A cashier supervising a supermarket's self-checkout area walks over to a customer's station before the customer calls for help, just as the customer scans a bottle of wine.",
    rationale:
      'Alcohol needs an age check by staff and the till locks until someone approves it; the cashier saw the wine being scanned and came over to check ID.',
    predictions: {
      [FT]: 'The wine triggers an age check that only staff can approve, so the cashier came over as soon as it was scanned to verify the customer\'s ID.',
      [GPT]: 'The cashier is proactively offering assistance, as customers often have difficulty using self-checkout machines.',
      [CLAUDE]: 'Staff monitoring self-checkouts watch for restricted items; the cashier likely needs to approve the alcohol sale.',
    },
  },
  {
    id: 'pisar-0016',
    input:
      "An agricultural spraying drone flying over a wheat field stops spraying along a strip of the field's eastern edge, beside a stream, while it keeps spraying everywhere else.",
    image: 'images/field-green.png',
    rationale:
      "Buffer-zone rules forbid spraying pesticide within a set distance of watercourses to prevent drift and runoff into the stream, so the drone's field map marks that strip as no-spray.",
    outputs: {
      [FT]: "Rules require a no-spray buffer next to watercourses to stop pesticide drifting or running off into the stream, so the drone's map excludes that strip.",
      [GPT]: 'The drone may have detected that this section of the crop was already treated, or its sensors identified healthier plants that do not need spraying.',
      [CLAUDE]: "The drone's flight plan likely includes exclusion zones, which can be defined for many reasons, such as property boundaries or sensitive areas.",
    },
  },
  {
    id: 'pisar-0017',
    input:
      'An on-call engineer is paged about a spike in HTTP 500 errors and, before reading any logs, rolls back the deployment made twenty minutes earlier.',
    rationale:
      'The errors began right after the deploy, so rolling back is the fastest way to restore service; diagnosis can wait until users are no longer affected.',
    outputs: {
      [FT]: 'The error spike started right after the deploy, so rolling back restores service fastest; root-cause analysis can happen once users are no longer affected.',
      [GPT]: "Rolling back is a standard incident response step that follows the team's runbook, minimizing risk while the issue is investigated.",
    },
  },
  {
    id: 'pisar-0018',
    input:
      'A lifeguard at a crowded beach whistles and signals a struggling swimmer to swim sideways, parallel to the shore, rather than straight toward the beach.',
    rationale:
      'The swimmer is caught in a rip current; swimming straight for shore fights the current and exhausts them, while swimming parallel leads out of the narrow channel.',
  },
  BAD.array,
  {
    // No reference rationale: can be run, not scored.
    id: 'pisar-0019',
    input:
      'A chess engine playing White declines to capture a free pawn on move 14 and instead plays a quiet rook move to the open d-file.',
    outputs: {
      [FT]: 'Taking the pawn would pull the queen away from the defence of the king, so the engine prefers to seize the open file with the rook.',
      [CLAUDE]: 'Engines often value piece activity over material; controlling the open file gives a lasting positional advantage.',
    },
  },
  {
    id: 'pisar-0020',
    input:
      'On final approach in a gusty crosswind, an airline pilot flies the approach about 10 knots faster than the usual reference speed.',
    rationale:
      'Gusts can suddenly reduce airspeed near the ground; adding a gust margin keeps the aircraft safely above stall speed if a gust drops away during the flare.',
    outputs: {
      [FT]: 'In gusty conditions airspeed can drop suddenly close to the ground, so the pilot adds a gust margin to stay well above stall speed if a gust dies away on landing.',
      [GPT]: 'Pilots often increase approach speed in challenging weather to maintain better control authority and to comply with airline standard operating procedures.',
      [CLAUDE]: 'The extra speed gives the pilot more control responsiveness in turbulent air, making it easier to correct for the crosswind during landing.',
    },
  },
  {
    id: 'pisar-0021',
    input:
      "An online shop's support agent refunds a customer for a mug that arrived broken, priced at €12, without asking for a photo or for the pieces to be returned.",
    rationale:
      'For such a cheap item, return shipping and handling would cost more than the mug itself, and a quick refund keeps the customer satisfied at little risk.',
    outputs: {
      [FT]: 'The mug costs less than return shipping and processing would, so the agent refunds it straight away; a quick refund keeps the customer happy at little cost or risk.',
      [GPT]: 'The agent is prioritizing customer satisfaction and trust, aiming to build long-term loyalty by resolving the complaint quickly.',
      [CLAUDE]: 'The shop may have a policy of trusting customers on damage claims, which reduces friction and support workload.',
    },
  },
  {
    id: 'pisar-0022',
    input:
      'At a playground, a father watching his four-year-old on a climbing frame stands directly below the highest platform rather than on the bench nearby, though the child is not asking for help.',
    rationale:
      "A fall from the highest platform would be the most dangerous; standing beneath it lets him catch or break the child's fall without interfering with the climb.",
    outputs: {
      [FT]: 'He stands below the highest platform because a fall from there would hurt most, so being underneath lets him catch the child without getting in the way of the climb.',
      [GPT]: "The father wants to stay engaged with his child's play, showing support and encouragement while spending quality time together.",
      [CLAUDE]: 'Parents of young children often stay close during climbing to supervise, especially while the child is still developing coordination.',
    },
  },
  {
    id: 'pisar-0023',
    input:
      'In a café in Madrid, a waiter brings a table the bill only when the guests ask for it, although they finished dessert twenty minutes earlier.',
    rationale:
      'In Spain bringing the bill unprompted is considered rude, as it suggests the guests are being hurried out; the waiter waits to be asked.',
  },
  {
    id: 'pisar-0024',
    input:
      'At a public pool, a lifeguard jumps in fully clothed toward a child who is upright in the water, not splashing or shouting, with her head tilted back and her mouth at the water line.',
    image: 'images/pool-teal.png',
    rationale:
      'Real drowning is usually silent: upright with the head tilted back and the mouth at water level means the child cannot breathe or call for help, so the lifeguard acts at once.',
    outputs: {
      [FT]: "Drowning rarely looks dramatic; upright with her head back and her mouth at the waterline, the child can't breathe or shout, so the lifeguard goes in immediately.",
      [GPT]: 'The lifeguard may have noticed the child was in the deep end without supervision and decided to intervene as a precaution.',
      [CLAUDE]: 'Lifeguards are trained to respond quickly to any sign of distress, and entering the water immediately minimizes response time.',
    },
  },
  {
    id: 'pisar-0025',
    input:
      'A haulage dispatcher in Bremen assigns a refrigerated truck to a load of dry pallets bound for Hamburg, while a standard truck stands idle in the yard.',
    rationale:
      'The refrigerated truck has to return to Hamburg for its next cold load anyway, so the dry pallets fill an otherwise empty leg; the idle truck is kept for a local job.',
    outputs: {
      [GPT]: 'The dispatcher may be optimizing fleet utilization based on availability, driver schedules and route efficiency.',
      [CLAUDE]: 'Using the refrigerated truck for dry goods might avoid an empty trip, improving the economics of its route.',
    },
  },
  {
    // Suspect reference: the rationale invents a timetable reason and ignores the pedestrian.
    id: 'pisar-0026',
    input:
      'A self-driving shuttle approaching a crosswalk with nobody on it comes to a full stop; a woman with a white cane is standing at the kerb, facing the road.',
    rationale:
      'The shuttle was running ahead of its timetable, so it waited at the crosswalk to fall back on schedule before reaching the next stop.',
    outputs: {
      [FT]: 'A pedestrian with a white cane was waiting at the kerb facing the road, so the shuttle stopped to give her priority to cross even though the crosswalk was still empty.',
      [GPT]: 'The shuttle detected a pedestrian at the kerb who appeared to intend to cross and yielded to her as required at the crosswalk.',
      [CLAUDE]: 'A woman with a white cane at the edge of the crosswalk signals an intention to cross; the shuttle stops so she can cross safely.',
    },
  },
  {
    id: 'pisar-0027',
    input:
      'In mid-December, a retail investor sells a stock that has fallen 30% since he bought it, then buys a broad index fund in the same sector the same day.',
    rationale:
      'Selling at a loss before year-end realises a capital loss that offsets his gains for tax purposes, while the similar fund keeps his market exposure: tax-loss harvesting.',
    outputs: {
      [GPT]: 'The investor is cutting losses on an underperforming stock and diversifying into a broader index fund to reduce risk.',
    },
  },
  {
    id: 'pisar-0028',
    input:
      'A reinforcement-learning agent in a platformer game repeatedly jumps in place near the start of the level instead of moving right toward the goal.',
    rationale:
      'Each jump collects a small reward from a respawning coin, and the agent has learned this loop pays more than the risky path to the goal: reward hacking.',
    outputs: {
      [FT]: 'The agent keeps jumping because a respawning coin there pays a small reward each time, and it learned this loop earns more than risking the path to the goal.',
      [GPT]: 'The agent may be stuck in a local optimum due to insufficient exploration during training, failing to discover the path to the goal.',
      [CLAUDE]: 'The agent has probably not learned the level layout yet; jumping in place is a common behaviour early in training.',
    },
  },
  {
    id: 'pisar-0029',
    input:
      'At dusk, a pedestrian at a crosswalk with the walk signal lit lets an SUV with its headlights off pass before stepping into the road.',
    image_url: 'https://example.org/pisar-samples/crosswalk-dusk.png',
    rationale:
      'The SUV was approaching without headlights and showed no sign of slowing; the pedestrian doubted the driver had seen them in the low light, so waited despite having right of way.',
  },
  {
    id: 'pisar-0030',
    input:
      "A medical interpreter stops the doctor mid-sentence and asks her to rephrase 'you'll be NPO after midnight' before translating it for the patient.",
    rationale:
      "NPO is jargon with no clear equivalent for the patient; the interpreter asks the doctor to say 'nothing to eat or drink after midnight' so the instruction is conveyed accurately.",
    outputs: {
      [FT]: "'NPO' is medical jargon the patient wouldn't understand, so the interpreter asks the doctor to say plainly 'nothing to eat or drink after midnight' before translating.",
      [GPT]: 'The interpreter wants to ensure accuracy and avoid misunderstandings, as medical terminology can be complex and errors could harm the patient.',
      [CLAUDE]: 'Interpreters sometimes ask for clarification when a phrase is ambiguous, to make sure both parties communicate effectively.',
    },
  },
  {
    id: 'pisar-0031',
    input:
      'A tower-crane operator lowers his load to the ground and stops work under a clear sky, after the anemometer on the jib shows gusts rising to 55 km/h.',
    rationale:
      'Wind above the crane\'s rated limit makes suspended loads swing unpredictably and can overload the jib, so the operator sets the load down before the gusts get worse.',
  },
  {
    // Duplicate id: repeats pisar-0011 from earlier in the file.
    id: 'pisar-0011',
    input:
      'A hotel receptionist gives a guest who arrives at 9 a.m. a room straight away, although check-in is officially at 3 p.m.',
    rationale:
      'Several rooms were already clean and empty from the night before, so an early check-in costs the hotel nothing and leaves the guest with a good first impression.',
  },
  {
    id: 'pisar-0032',
    input:
      'A primary-school teacher notices a usually talkative pupil sitting silently at lunch and, rather than asking what is wrong in front of the class, asks him to help carry books to the library.',
    rationale:
      'She wants a private moment to check on him; a small errand gives him a reason to leave the group without being singled out in front of classmates.',
    outputs: {
      [FT]: 'The teacher wants to talk to him privately, and asking for help with the books lets him step away from the group without being singled out in front of the others.',
      [CLAUDE]: 'Giving the pupil a small responsibility can lift his mood and self-esteem, helping him feel valued when he seems down.',
    },
  },
  {
    id: 'pisar-0033',
    input:
      'A shop assistant in a clothing store moves a stack of folded jeans from the table by the entrance to the back wall, and sets out a display of new scarves on that table.',
    image: 'images/store-purple.png',
    rationale:
      'Shoppers seek out staples like jeans anyway, so putting them at the back walks them past other stock, while the entrance table shows new items people buy on impulse.',
    outputs: {
      [FT]: 'Jeans are a staple people look for anyway, so putting them at the back makes shoppers walk past other stock, while the front table shows off new items bought on impulse.',
      [GPT]: 'The assistant is refreshing the store layout to keep it visually appealing and to highlight seasonal merchandise.',
      [CLAUDE]: 'Putting the new scarves at the entrance highlights new arrivals; the jeans may have been moved to make room or to group them with other denim.',
    },
  },
  {
    id: 'pisar-0034',
    input:
      'A marathon runner at kilometre 8 of a race lets a group of runners pass her even though she feels strong.',
    rationale:
      'Speeding up this early would burn glycogen she needs for the final kilometres; she holds her planned pace to avoid hitting the wall later.',
  },
  {
    id: 'pisar-0035',
    input:
      "A customer-support AI agent asked to cancel a user's subscription first looks up whether the plan is annual and whether a refund is pending, then asks the user to confirm the cancellation date.",
    rationale:
      'An annual plan and a pending refund change what cancelling means financially; the agent confirms the date so the user knows when access ends and what will be refunded.',
    outputs: {
      [FT]: 'Cancelling an annual plan with a refund pending has financial consequences, so the agent checks both and confirms the date so the user knows when access ends and what is refunded.',
      [GPT]: 'The agent is following a verification workflow to ensure it is acting on the correct account and to prevent accidental cancellations.',
      [CLAUDE]: 'Before taking an irreversible action, a careful agent gathers context and seeks explicit confirmation from the user.',
    },
  },
  {
    id: 'pisar-0036',
    input: 'A dairy farmer mows his hay meadow two days earlier than planned, although the grass has not fully headed out.',
    rationale:
      'The forecast shows several days of rain from the weekend; hay cut and dried now is worth more than a heavier crop that would spoil if rained on before baling.',
    outputs: {
      [FT]: 'Rain is forecast for the coming days, and hay cut now can dry before it arrives, while waiting for a heavier crop risks it getting soaked and spoiling before baling.',
    },
  },
  {
    // Suspect reference: the rationale invents a slower cyclist and ignores the open car door.
    id: 'pisar-0037',
    input:
      'A cyclist in a city bike lane swerves out into the general traffic lane beside a row of parked cars; the driver\'s door of the parked car just ahead is ajar.',
    rationale:
      'The cyclist moved into the traffic lane to overtake a slower cyclist riding ahead in the bike lane.',
    outputs: {
      [FT]: 'The door of a parked car was ajar, so the cyclist moved out of the bike lane to stay clear of the door zone in case it swung open in front of them.',
      [GPT]: 'The cyclist saw the partially open car door and moved away from it to avoid being hit if the door opened suddenly.',
      [CLAUDE]: 'An ajar door means someone may be about to get out; the cyclist leaves the bike lane to avoid a dooring collision.',
    },
  },
  {
    id: 'pisar-0038',
    input:
      'During a morning rush, a barista pours away a jug of steamed milk that has been standing for about two minutes and steams fresh milk for the next cappuccino.',
    rationale:
      'Steamed milk separates into stiff foam and thin liquid as it stands, so it no longer pours as smooth microfoam; fresh milk keeps the drink up to standard.',
  },
  {
    id: 'pisar-0039',
    input:
      "A surgical team pauses before the first incision while the circulating nurse reads out the patient's name, the procedure and the side to be operated on.",
    rationale:
      'This is the surgical safety time-out: confirming patient, procedure and site aloud with everyone present catches wrong-patient or wrong-side errors before they become irreversible.',
    outputs: {
      [FT]: 'It is the safety time-out: reading out patient, procedure and site with the whole team present catches wrong-patient or wrong-side mistakes before anything irreversible happens.',
      [GPT]: 'Hospitals require documentation steps before surgery to comply with regulations and ensure accurate records of the procedure.',
      [CLAUDE]: 'The pause lets the team focus and prepare mentally, ensuring everyone is ready before the operation begins.',
    },
  },
  {
    id: 'pisar-0040',
    input:
      'A robot vacuum skips the living-room rug during its scheduled cleaning, although it cleans the floor on both sides of it.',
    rationale:
      "The rug's long fringes tangle in the brush roll, so the owner marked it as a no-go zone in the app and the robot routes around it.",
  },
  {
    id: 'pisar-0041',
    input:
      'During a criminal trial, a defence lawyer chooses not to cross-examine a prosecution witness whose brief testimony only established the timeline of the evening.',
    rationale:
      'The testimony did not hurt the defence, and cross-examining could let the witness repeat or strengthen damaging points; declining also signals to the jury that the witness was unimportant.',
    outputs: {
      [FT]: "The witness's brief timeline testimony did not harm the defence, and questioning them could let damaging points be repeated, so the lawyer declines, implying the testimony was unimportant.",
      [GPT]: 'The lawyer may be saving time or preserving their strategy for more critical witnesses later in the trial.',
      [CLAUDE]: 'Skipping cross-examination can be tactical; lawyers avoid it when they see little to gain and some risk.',
    },
  },
  {
    id: 'pisar-0042',
    input:
      "The officer of the watch on a container ship in the English Channel alters course 20 degrees to starboard while a crossing vessel on the starboard bow is still six nautical miles away.",
    rationale:
      'Under the collision regulations a ship with another crossing on its starboard side must give way; altering early and by a large angle makes the intention obvious to the other vessel.',
  },
  {
    id: 'pisar-0043',
    input:
      "An IT helpdesk technician asks an employee to step away from her desk before typing the administrator password on the employee's laptop.",
    rationale:
      'The technician keeps the administrator password confidential: with the employee away from the screen and keyboard, it cannot be seen over the shoulder or noted down.',
  },
];

const lines = entries.map((e) => (typeof e === 'string' ? e : JSON.stringify(e)));
// UTF-8, no BOM, LF endings, trailing newline.
writeFileSync(join(here, 'pisar-sample.jsonl'), lines.join('\n') + '\n', 'utf8');

const rows = entries.filter((e) => typeof e !== 'string');
console.log(`samples/pisar-sample.jsonl: ${lines.length} lines, ${rows.length} object rows`);
for (const [name, raw] of Object.entries(BAD)) console.log(`  ${name}: line ${lines.indexOf(raw) + 1}`);
